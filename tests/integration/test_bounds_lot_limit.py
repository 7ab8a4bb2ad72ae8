"""The cap on a customer record (BONUS_MAX_RECORD_FIELDS) on a real Redis: an accrual that would
grow the record past it is refused before any write, with a code that dead-letters it, and the
same event applies once the record has shrunk; nothing else of the customer is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from schemas.errors import ErrorCode
from streams.ledger import Accrued, ClawedBack, Duplicate, Ledger, LotLimit, Redeemed
from tests.integration.ledger_harness import (
    DAY,
    T0,
    Harness,
    _cleanup,
    purchase,
    redemption,
    refund,
    rules,
)

CAP = 16  # v, S, T + 13 lots and orders: a few purchases of two lots and one order each


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with asyncio.Runner() as runner:
        client = Redis.from_url(redis_url)
        ledger = Ledger(
            client, prefix=key_prefix, partitions=4, rules=rules(), max_record_fields=CAP
        )
        runner.run(ledger.start())
        try:
            yield Harness(runner, client, ledger)
        finally:
            runner.run(_cleanup(client, key_prefix))


def state(h: Harness, customer: str) -> tuple[dict[Any, Any], int, list[Any]]:
    """The record, the outbox length and the idempotency keys of the customer's shard."""
    k = h.ledger.keys(h.ledger.shard_of(customer))
    record = h.run(h.client.hgetall(k.customer(customer)))
    outbox = int(h.run(h.client.xlen(k.outbox)))
    pattern = k.idempotency("*", "*").replace("{", "\\{").replace("}", "\\}")
    keys = sorted(h.run(h.client.keys(pattern)))
    return record, outbox, keys


def fill(h: Harness, customer: str) -> int:
    """Purchases (1500: a cashback and a big-order lot, one order) until one is refused."""
    for n in range(1, 50):
        outcome = h.run(h.ledger.apply(purchase(f"p{n}", customer, "1500"), T0))
        if isinstance(outcome, LotLimit):
            return n
        assert isinstance(outcome, Accrued)
        assert len(outcome.lots) == 2
    raise AssertionError("the cap never refused a purchase")


def test_an_accrual_past_the_cap_is_refused_before_any_write(h: Harness) -> None:
    refused_at = fill(h, "ann")
    before = state(h, "ann")
    assert len(before[0]) + 3 > CAP >= len(before[0])
    outcome = h.run(h.ledger.apply(purchase(f"p{refused_at}", "ann", "1500"), T0))
    assert outcome == LotLimit("purchases", f"p{refused_at}", len(before[0]), CAP)
    # Nothing written: not the record, not the outbox, not even the idempotency record.
    assert state(h, "ann") == before
    error = outcome.error()
    assert error.code is ErrorCode.LOT_LIMIT
    assert "BONUS_MAX_RECORD_FIELDS" in error.message


def test_other_events_of_a_full_customer_still_apply(h: Harness) -> None:
    refused_at = fill(h, "bob")
    # A duplicate of an applied purchase is still a duplicate, not a refusal.
    again = h.run(h.ledger.apply(purchase("p1", "bob", "1500"), T0))
    assert again == Duplicate(original="applied")
    # A purchase too small to earn lots adds no lot: it updates the statistics.
    small = h.run(h.ledger.apply(purchase("small", "bob", "5"), T0))
    assert isinstance(small, Accrued)
    assert small.lots == ()
    spent = h.run(h.ledger.apply(redemption("r1", "bob", 10), T0))
    assert isinstance(spent, Redeemed)
    assert spent.status == "accepted"
    back = h.run(h.ledger.apply(refund("f1", "bob", "order-p1"), T0))
    assert isinstance(back, ClawedBack)
    assert back.status == "applied"
    still = h.run(h.ledger.apply(purchase(f"p{refused_at}", "bob", "1500"), T0))
    assert isinstance(still, LotLimit)


def test_the_refused_event_applies_once_the_record_has_shrunk(h: Harness) -> None:
    refused_at = fill(h, "cid")
    event = purchase(f"p{refused_at}", "cid", "1500")
    assert isinstance(h.run(h.ledger.apply(event, T0)), LotLimit)
    # The lots burn at T0 + 14 days; their orders (and the spent lots with them) go 30 days
    # later (order retention). The timer that does it shrinks the record.
    later = T0 + 45 * DAY
    h.run(h.ledger.fire_due(h.ledger.shard_of("cid"), later))
    record, _, _ = state(h, "cid")
    assert len(record) < CAP - 3
    # The replay (from the dead-letter topic) is applied, not taken for a duplicate.
    replayed = h.run(h.ledger.apply(event, later))
    assert isinstance(replayed, Accrued)
    assert len(replayed.lots) == 2
