"""Batches on a real Redis: ``Ledger.apply_batch`` gives exactly the outcomes and the state of
applying the same events one by one (caps, once-per-customer, order per customer, duplicates,
conflicts, redemptions and refunds inside one batch), retries a stale wave, and reloads its
scripts after SCRIPT FLUSH."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from schemas.inputs import InputEvent
from streams.ledger import Accrued, Conflict, Duplicate, Redeemed
from streams.ledger.batch import NOT_READ
from streams.ledger.codec import encode_request
from tests.integration.ledger_harness import (
    T0,
    Harness,
    install,
    open_harness,
    purchase,
    redemption,
    refund,
)


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix) as harness:
        yield harness


@pytest.fixture
def twin(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    """A second ledger in its own key space: the one-by-one reference."""
    with open_harness(redis_url, f"{key_prefix}ref:") as harness:
        yield harness


def mixed_events() -> list[InputEvent]:
    """Several customers, several events each, in an order that matters per customer."""
    return [
        purchase("a1", "ann", "6000"),  # cashback 600 of the 1000 cap, big-order 50
        purchase("b1", "bob", "300"),
        purchase("a2", "ann", "6000"),  # the cap leaves 400
        install("i1", "bob"),
        install("i2", "bob"),  # once per customer: nothing
        redemption("r1", "ann", 1000),  # needs a1 and a2 first
        purchase("b1", "bob", "300"),  # the same event again: duplicate
        purchase("b1", "bob", "999"),  # same id, other payload: conflict
        refund("f1", "ann", "order-a1"),
        purchase("c1", "cat", "100"),
        redemption("r2", "cat", 5000),  # rejected: not enough points
    ]


def state(h: Harness, customers: list[str]) -> list[Any]:
    """What a customer looks like from outside: its view and its outbox entries."""
    seen: list[Any] = []
    for customer in customers:
        view = h.run(h.ledger.customer_view(customer, T0))
        seen.append(None if view is None else (view.balance, view.pending, view.version))
        seen.append([(e.type, e.data) for e in h.outbox(customer)])
    return seen


def test_a_batch_equals_the_same_events_one_by_one(h: Harness, twin: Harness) -> None:
    events = mixed_events()
    batched = h.run(h.ledger.apply_batch(events, T0))
    one_by_one = [twin.run(twin.ledger.apply(event, T0)) for event in events]
    assert batched == one_by_one
    assert isinstance(batched[2], Accrued)
    assert [points for _, points in batched[2].lots] == [400, 50]
    assert isinstance(batched[5], Redeemed)
    assert batched[5].status == "accepted"
    assert isinstance(batched[6], Duplicate)
    assert isinstance(batched[7], Conflict)
    customers = ["ann", "bob", "cat"]
    assert state(h, customers) == state(twin, customers)


def test_a_stale_wave_is_read_again(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = h.ledger
    other = ledger.call_for(purchase("other", "dan", "100"), T0)
    real_queue = ledger.queue_read
    reads = 0

    def queue_then_interfere(
        pipe: Any, customer_id: str, order_id: str | None, order_lots: bool = True
    ) -> None:
        nonlocal reads
        reads += 1
        real_queue(pipe, customer_id, order_id, order_lots)
        if reads == 1:
            # Another worker applies a purchase of the customer right after our read.
            request = encode_request(other.build(*NOT_READ))
            pipe.evalsha(other.script.sha, len(other.keys), *other.keys, request)

    monkeypatch.setattr(ledger, "queue_read", queue_then_interfere)
    (outcome,) = h.run(ledger.apply_batch([purchase("mine", "dan", "200")], T0))
    assert isinstance(outcome, Accrued)
    assert (outcome.version, reads) == (2, 2)


def test_a_batch_reloads_its_scripts_after_script_flush(h: Harness) -> None:
    h.run(h.ledger.apply_batch([purchase("p1", "eve", "100")], T0))
    h.run(h.client.script_flush())
    outcomes = h.run(h.ledger.apply_batch([purchase("p2", "eve", "100")], T0))
    assert isinstance(outcomes[0], Accrued)
    assert outcomes[0].version == 2
