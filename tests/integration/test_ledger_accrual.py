"""Accrual scripts on a real Redis: stacking, caps, once-per-customer, statistics, idempotent
repeats, duplicate conflicts, stale-version retry, SCRIPT FLUSH reload (campaign grants:
test_ledger_campaigns.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from schemas.errors import ErrorCode
from schemas.outputs import BalanceSnapshot, BonusAccrued, BonusBurned
from streams.core.model import CustomerStats
from streams.ledger import Accrued, Conflict, Duplicate, ScriptError
from streams.ledger.codec import encode_request, from_ms
from streams.ledger.view import StoredOrder
from tests.integration.ledger_harness import (
    DAY,
    T0,
    Harness,
    install,
    open_harness,
    purchase,
)


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix) as harness:
        yield harness


def granted(outcome: object) -> list[int]:
    assert isinstance(outcome, Accrued)
    return [points for _, points in outcome.lots]


def test_every_matching_rule_makes_its_own_lot(h: Harness) -> None:
    outcome = h.run(h.ledger.apply(purchase("p1", "ann", "1500"), T0))
    assert granted(outcome) == [150, 50]
    accrued = h.outputs("ann", "accrued")
    assert [(a.rule_id, a.points) for a in accrued if isinstance(a, BonusAccrued)] == [
        ("cashback", 150),
        ("big-order", 50),
    ]
    first = accrued[0]
    assert isinstance(first, BonusAccrued)
    assert first.source_event_id == "p1"
    assert first.expires_at == T0 + 14 * DAY
    (snapshot,) = h.outputs("ann", "balance")
    assert isinstance(snapshot, BalanceSnapshot)
    assert (snapshot.balance, snapshot.pending, snapshot.version) == (200, 0, 1)
    assert snapshot.next_expiry is not None
    assert (snapshot.next_expiry.points, snapshot.next_expiry.at) == (50, T0 + 10 * DAY)


def test_purchase_updates_statistics_and_order(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "ann", "100.25", order="o1"), T0))
    h.run(h.ledger.apply(purchase("p2", "ann", "200", T0 - DAY, order="o1"), T0))
    version, stats, order = h.run(h.ledger.read_stats("ann", "o1"))
    assert version == 2
    assert stats == CustomerStats(2, Decimal("300.25"), T0)
    assert isinstance(order, StoredOrder)
    assert (order.amount, order.refunded) == (Decimal("300.25"), Decimal(0))
    assert [(points, clawed) for _, points, clawed in order.lots] == [(10, 0), (20, 0)]


def test_cap_cuts_a_lot_then_refuses_until_the_window_moves(h: Harness) -> None:
    cashback = []
    for i, at in enumerate([T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY]):
        outcome = h.run(h.ledger.apply(purchase(f"p{i}", "bob", "4000", at), at))
        assert isinstance(outcome, Accrued)
        cashback.append(sum(p for lot, p in outcome.lots if p != 50))
        # A repeat inside the run must neither count twice nor grant again.
        assert isinstance(
            h.run(h.ledger.apply(purchase(f"p{i}", "bob", "4000", at), at)), Duplicate
        )
    assert cashback == [400, 400, 200, 0]
    # Exactly 30 days after the first grant it still counts (issued_at >= window start).
    edge = T0 + 30 * DAY
    assert granted(h.run(h.ledger.apply(purchase("p8", "bob", "4000", edge), edge))) == [50]
    later = T0 + 30 * DAY + timedelta(milliseconds=1)
    outcome = h.run(h.ledger.apply(purchase("p9", "bob", "4000", later), later))
    assert granted(outcome) == [400, 50]
    view = h.run(h.ledger.customer_view("bob", later))
    assert view is not None
    assert view.totals["accrued"] == 1000 + 5 * 50 + 450


def test_cap_counts_every_grant_issued_since_the_window_start(h: Harness) -> None:
    now = T0 + 10 * DAY
    h.run(h.ledger.apply(purchase("a", "cid", "8000", now), now))
    # A late event: its window [issued - 30 days, ...) also holds the 800 given later.
    outcome = h.run(h.ledger.apply(purchase("b", "cid", "8000", T0 - 30 * DAY), now))
    assert granted(outcome) == [200, 50]
    outcome = h.run(h.ledger.apply(purchase("c", "cid", "8000", T0 - DAY), now))
    assert granted(outcome) == [50]
    # Lots of b and c's big-order lot expired before now: made, then burned at once.
    burned = h.outputs("cid", "burned")
    assert [(b.points, b.rule_id) for b in burned if isinstance(b, BonusBurned)] == [
        (200, "cashback"),
        (50, "big-order"),
        (50, "big-order"),
    ]


def test_once_per_customer_holds_across_events(h: Harness) -> None:
    assert granted(h.run(h.ledger.apply(install("i1", "cat"), T0))) == [300]
    second = h.run(h.ledger.apply(install("i2", "cat", T0 + DAY), T0 + DAY))
    assert isinstance(second, Accrued)
    assert second.lots == ()
    assert [reason for _, reason in second.skipped] == ["once_per_customer"]
    assert granted(h.run(h.ledger.apply(install("i3", "cat", app="other"), T0))) == []
    assert len(h.outputs("cat", "accrued")) == 1


def test_exact_repeat_changes_nothing_and_emits_nothing(h: Harness) -> None:
    event = purchase("p1", "dan", "1500")
    h.run(h.ledger.apply(event, T0))
    before = h.outbox("dan")
    state = h.run(h.ledger.read_stats("dan"))
    repeat = h.run(h.ledger.apply(event, T0 + DAY))
    assert repeat == Duplicate(original="applied")
    assert h.outbox("dan") == before
    assert h.run(h.ledger.read_stats("dan")) == state


def test_conflicting_repeat_is_a_duplicate_conflict(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "eve", "1500"), T0))
    before = h.outbox("eve")
    outcome = h.run(h.ledger.apply(purchase("p1", "eve", "1600"), T0))
    assert isinstance(outcome, Conflict)
    assert outcome.error().code == ErrorCode.DUPLICATE_CONFLICT
    assert h.outbox("eve") == before
    install_conflict = h.run(h.ledger.apply(install("i1", "eve"), T0))
    assert isinstance(install_conflict, Accrued)  # kinds have their own event ids


def test_stale_version_is_retried_from_a_fresh_read(h: Harness, monkeypatch: Any) -> None:
    ledger = h.ledger
    real_read = ledger.read_stats
    calls = 0

    async def read_then_interfere(
        customer_id: str, order_id: str | None = None, **options: Any
    ) -> Any:
        nonlocal calls
        calls += 1
        seen = await real_read(customer_id, order_id, **options)
        if calls == 1:
            # Another worker (during a rebalance) applies a purchase right after our read.
            monkeypatch.setattr(ledger, "read_stats", real_read)
            await ledger.apply(purchase("other", "fay", "100"), T0)
            monkeypatch.setattr(ledger, "read_stats", read_then_interfere)
        return seen

    monkeypatch.setattr(ledger, "read_stats", read_then_interfere)
    outcome = h.run(ledger.apply(purchase("mine", "fay", "200"), T0))
    assert isinstance(outcome, Accrued)
    assert outcome.version == 2
    assert calls == 2
    _, stats, _ = h.run(real_read("fay"))
    assert (stats.purchases, stats.total_amount) == (2, Decimal(300))


def test_script_answers_stale_for_an_old_version(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "gil", "100"), T0))
    keys = h.ledger._keys("gil", "purchases", "x1")
    request = {"digest": "d", "ttl": 60, "customer": "gil", "expect": 0, "now": 0, "src": "x1"}
    reply = h.run(h.ledger.scripts.accrue(keys=keys, args=[encode_request(request | {"lots": []})]))
    assert b'"stale"' in reply
    assert h.run(h.client.exists(keys[4])) == 0


def test_a_bad_request_fails_before_any_write(h: Harness) -> None:
    keys = h.ledger._keys("hal", "purchases", "x1")
    bad_lot = {"id": "L1", "origin": "r:cashback", "pts": 5, "iss": 10, "act": 20, "exp": 15}
    request = {"digest": "d", "ttl": 60, "customer": "hal", "expect": 0, "now": 0, "src": "x1"}
    request["wday"] = h.ledger.warning_day(from_ms(0))
    with pytest.raises(ScriptError, match="activates_at"):
        h.run(h.ledger._run(h.ledger.scripts.accrue, keys, request | {"lots": [bad_lot]}))
    assert h.run(h.client.exists(*keys)) == 0


def test_scripts_survive_script_flush(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p1", "ivy", "1500"), T0))
    h.run(h.client.script_flush())
    assert isinstance(h.run(h.ledger.apply(purchase("p2", "ivy", "1500"), T0)), Accrued)
    h.run(h.client.script_flush())
    fired = h.run(h.ledger.fire_due(h.ledger.shard_of("ivy"), T0 + 11 * DAY))
    assert [f.customer_id for f in fired] == ["ivy"]
