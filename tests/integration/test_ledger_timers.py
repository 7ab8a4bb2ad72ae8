"""Timer firing on a real Redis: activation, coalesced warnings once per lead, warnings at
once inside a window, burns exactly once and never for spent lots, the one-entry timer index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from schemas.outputs import BalanceSnapshot, BonusBurned, ExpiryWarning
from streams.ledger import ClawedBack
from streams.ledger.codec import to_ms
from tests.integration.ledger_harness import (
    DAY,
    T0,
    Harness,
    open_harness,
    purchase,
    redemption,
    refund,
    rules,
)

HOUR = timedelta(hours=1)


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    # A daily cap too high to matter here: test_ledger_warning_cap.py tests the cap.
    with open_harness(redis_url, key_prefix, rules_file=rules(max_warnings_per_day=9)) as harness:
        yield harness


def fire(h: Harness, customer: str, at: datetime) -> list[str]:
    """Fire the customer's shard at ``at``; the customers that fired."""
    return [f.customer_id for f in h.run(h.ledger.fire_due(h.ledger.shard_of(customer), at))]


def warnings(h: Harness, customer: str) -> list[tuple[str, list[str], int, datetime, int]]:
    return [
        (str(w.lead), [lot.lot_id for lot in w.lots], w.points_expiring, w.expires_at, w.balance)
        for w in h.outputs(customer, "warning")
        if isinstance(w, ExpiryWarning)
    ]


def burns(h: Harness, customer: str) -> list[tuple[str, int]]:
    return [
        (b.lot_id, b.points) for b in h.outputs(customer, "burned") if isinstance(b, BonusBurned)
    ]


def cash_lots(h: Harness, customer: str) -> list[str]:
    return [a.lot_id for a in h.outputs(customer, "accrued")]  # type: ignore[attr-defined]


def timer(h: Harness, customer: str) -> float | None:
    keys = h.ledger.keys(h.ledger.shard_of(customer))
    return h.run(h.client.zscore(keys.timers, customer))


def test_pending_lot_activates_on_its_timer(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p", "ann", "100", T0, channel="web"), T0))  # 10 + 20 pending
    assert timer(h, "ann") == to_ms(T0 + 2 * DAY)
    assert fire(h, "ann", T0 + 2 * DAY - HOUR) == []
    assert fire(h, "ann", T0 + 2 * DAY) == ["ann"]
    snapshot = h.outputs("ann", "balance")[-1]
    assert isinstance(snapshot, BalanceSnapshot)
    assert (snapshot.balance, snapshot.pending, snapshot.version) == (30, 0, 2)
    view = h.run(h.ledger.customer_view("ann", T0 + 2 * DAY))
    assert view is not None
    assert [lot.status for lot in view.lots] == ["active", "active"]
    # The next action is the delayed lot's warning: 1 day before its deadline T0+7d.
    assert timer(h, "ann") == to_ms(T0 + 6 * DAY)


def test_warnings_coalesce_and_fire_once_per_lead(h: Harness) -> None:
    for event, at in (("a", T0), ("b", T0 + 12 * HOUR), ("c", T0 + 2 * DAY)):
        h.run(h.ledger.apply(purchase(event, "bob", "500", at), at))
    one, two, three = cash_lots(h, "bob")
    assert fire(h, "bob", T0 + 11 * DAY) == ["bob"]
    assert warnings(h, "bob") == [("P3D", [one, two], 100, T0 + 14 * DAY, 150)]
    assert fire(h, "bob", T0 + 11 * DAY + 12 * HOUR) == []  # lot two was warned already
    fire(h, "bob", T0 + 13 * DAY)
    assert warnings(h, "bob")[1:] == [
        ("P1D", [one, two], 100, T0 + 14 * DAY, 150),
        ("P3D", [three], 50, T0 + 16 * DAY, 150),
    ]
    for at in (T0 + 14 * DAY, T0 + 14 * DAY + 12 * HOUR, T0 + 15 * DAY, T0 + 16 * DAY):
        fire(h, "bob", at)
    assert warnings(h, "bob")[3:] == [("P1D", [three], 50, T0 + 16 * DAY, 50)]
    assert burns(h, "bob") == [(one, 50), (two, 50), (three, 50)]
    assert timer(h, "bob") is not None  # the order records still wait for their deadline


def test_coalescing_reaches_exactly_one_day_past_the_trigger(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("a", "ivy", "500", T0), T0))
    h.run(h.ledger.apply(purchase("b", "ivy", "500", T0 + DAY), T0 + DAY))
    h.run(h.ledger.apply(purchase("c", "ivy", "500", T0 + DAY + HOUR), T0 + DAY + HOUR))
    one, two, _ = cash_lots(h, "ivy")
    fire(h, "ivy", T0 + 11 * DAY)
    assert warnings(h, "ivy") == [("P3D", [one, two], 100, T0 + 14 * DAY, 150)]


def test_a_lot_made_inside_a_window_is_warned_at_once(h: Harness) -> None:
    # Processed 12 days late: the 3-day window is open, the 1-day one not yet.
    h.run(h.ledger.apply(purchase("a", "cat", "500", T0), T0 + 12 * DAY))
    (lot,) = cash_lots(h, "cat")
    assert warnings(h, "cat") == [("P3D", [lot], 50, T0 + 14 * DAY, 50)]
    # Both windows open: only the most urgent lead is sent, the other never follows.
    h.run(h.ledger.apply(purchase("b", "dan", "500", T0), T0 + 13 * DAY + HOUR))
    (lot,) = cash_lots(h, "dan")
    assert warnings(h, "dan") == [("P1D", [lot], 50, T0 + 14 * DAY, 50)]
    fire(h, "dan", T0 + 13 * DAY + 2 * HOUR)
    assert len(warnings(h, "dan")) == 1
    # The 3-day lead was marked warned silently: a later 3-day warning does not cover it.
    h.run(h.ledger.apply(purchase("b2", "dan", "500", T0 + 60 * HOUR), T0 + 13 * DAY + HOUR))
    _, later = cash_lots(h, "dan")
    fire(h, "dan", T0 + 13 * DAY + 12 * HOUR)
    assert warnings(h, "dan")[1:] == [("P3D", [later], 50, T0 + 16 * DAY + 12 * HOUR, 100)]
    # Already expired: burned at once, never warned.
    h.run(h.ledger.apply(purchase("c", "eve", "500", T0), T0 + 15 * DAY))
    (lot,) = cash_lots(h, "eve")
    assert warnings(h, "eve") == []
    assert burns(h, "eve") == [(lot, 50)]


def test_burn_happens_exactly_once(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("a", "fay", "500", T0), T0))
    h.run(h.ledger.apply(redemption("r", "fay", 20), T0))
    (lot,) = cash_lots(h, "fay")
    fire(h, "fay", T0 + 14 * DAY)
    fire(h, "fay", T0 + 14 * DAY)
    fire(h, "fay", T0 + 20 * DAY)
    keys = h.ledger.keys(h.ledger.shard_of("fay"))
    # Even the script run again directly (a second worker, a retry) finds nothing to burn.
    h.run(
        h.ledger.scripts.fire(
            keys=[keys.customer("fay"), keys.timers, keys.outbox, keys.names],
            # now, order retention (ms), max warnings per day, the day's start and end (ms)
            args=[
                "fay",
                to_ms(T0 + 21 * DAY),
                30 * 86_400_000,
                *h.ledger.warning_day(T0 + 21 * DAY),
            ],
        )
    )
    assert burns(h, "fay") == [(lot, 30)]
    view = h.run(h.ledger.customer_view("fay", T0 + 21 * DAY))
    assert view is not None
    assert view.totals == {"accrued": 50, "redeemed": 20, "burned": 30, "clawed_back": 0}


def test_a_spent_lot_neither_warns_nor_burns(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("a", "gus", "500", T0), T0))
    h.run(h.ledger.apply(redemption("r", "gus", 50), T0 + DAY))
    for day in range(2, 20):
        fire(h, "gus", T0 + day * DAY)
    assert warnings(h, "gus") == []
    assert burns(h, "gus") == []


def test_order_records_expire_after_retention(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("a", "hal", "500", T0, order="o1"), T0))
    assert timer(h, "hal") == to_ms(T0 + 11 * DAY)
    for at in (T0 + 11 * DAY, T0 + 13 * DAY, T0 + 14 * DAY):
        fire(h, "hal", at)
    # Lots are gone; the order record waits 30 more days for late refunds.
    assert timer(h, "hal") == to_ms(T0 + 44 * DAY)
    late = h.run(h.ledger.apply(refund("f1", "hal", "o1"), T0 + 20 * DAY))
    assert isinstance(late, ClawedBack)
    assert late.status == "applied"
    assert fire(h, "hal", T0 + 44 * DAY) == ["hal"]
    assert timer(h, "hal") is None
    gone = h.run(h.ledger.apply(refund("f2", "hal", "o1"), T0 + 45 * DAY))
    assert gone == ClawedBack(status="unknown_order", version=3)
