"""Redemption and refund scripts on a real Redis: consumption order, all-or-nothing
rejection, full and cumulative partial clawbacks with points_unrecovered, repeats."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schemas.outputs import BalanceSnapshot, BonusClawedBack, RedemptionResult
from streams.ledger import ClawedBack, Conflict, Duplicate, Redeemed
from tests.integration.ledger_harness import (
    DAY,
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


def results(h: Harness, customer: str) -> list[RedemptionResult]:
    return [r for r in h.outputs(customer, "redemption") if isinstance(r, RedemptionResult)]


def clawbacks(h: Harness, customer: str) -> list[tuple[str, int, int]]:
    return [
        (c.lot_id, c.points, c.points_unrecovered)
        for c in h.outputs(customer, "clawed_back")
        if isinstance(c, BonusClawedBack)
    ]


def lot_ids(h: Harness, customer: str) -> dict[tuple[str, str], str]:
    """(source event, rule) -> lot id, from the accruals."""
    return {
        (str(a.source_event_id), str(a.rule_id)): str(a.lot_id)  # type: ignore[attr-defined]
        for a in h.outputs(customer, "accrued")
    }


def test_redemption_takes_earliest_deadline_then_issue_then_lot_id(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("a", "ann", "500", T0), T0))  # 50, expires T0+14d
    h.run(h.ledger.apply(install("i", "ann", T0 + DAY), T0 + DAY))  # 300, expires T0+8d
    h.run(h.ledger.apply(purchase("b", "ann", "500", T0 + DAY), T0 + DAY))  # 50, T0+15d
    h.run(h.ledger.apply(purchase("c", "ann", "500", T0 + DAY), T0 + DAY))  # 50, T0+15d
    ids = lot_ids(h, "ann")
    outcome = h.run(h.ledger.apply(redemption("r", "ann", 390), T0 + 2 * DAY))
    assert outcome == Redeemed(status="accepted", version=5, balance=60)
    (result,) = results(h, "ann")
    same_deadline = sorted([ids[("b", "cashback")], ids[("c", "cashback")]])
    assert [(lot.lot_id, lot.points) for lot in result.lots] == [
        (ids[("i", "bot")], 300),
        (ids[("a", "cashback")], 50),
        (same_deadline[0], 40),
    ]
    assert (result.status, result.points_redeemed, result.balance_after) == ("accepted", 390, 60)


def test_too_few_active_points_reject_and_change_nothing(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("a", "bob", "500", T0, channel="web"), T0))  # 50 + 20 pending
    before = h.run(h.ledger.customer_view("bob", T0))
    assert before is not None
    assert (before.balance, before.pending) == (50, 20)
    outcome = h.run(h.ledger.apply(redemption("r1", "bob", 60), T0))
    assert outcome == Redeemed(status="rejected", version=1, balance=50)
    (result,) = results(h, "bob")
    assert (result.status, result.reason, result.points_redeemed, result.lots) == (
        "rejected",
        "insufficient_balance",
        0,
        (),
    )
    assert result.balance_after == 50
    assert h.run(h.ledger.customer_view("bob", T0)) == before
    assert len(h.outputs("bob", "balance")) == 1  # no new snapshot: nothing changed
    assert h.run(h.ledger.apply(redemption("r1", "bob", 60), T0)) == Duplicate("rejected")
    assert isinstance(h.run(h.ledger.apply(redemption("r1", "bob", 50), T0)), Conflict)
    assert h.run(h.ledger.apply(redemption("r2", "bob", 50), T0)).status == "accepted"  # type: ignore[union-attr]


def test_unknown_customer_is_rejected_without_a_record(h: Harness) -> None:
    outcome = h.run(h.ledger.apply(redemption("r", "nobody", 1), T0))
    assert outcome == Redeemed(status="rejected", version=0, balance=0)
    assert h.run(h.ledger.customer_view("nobody", T0)) is None


def test_partial_refunds_accumulate_and_report_spent_points(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p", "cat", "2000", T0, order="o1"), T0))  # 200 + 50
    ids = lot_ids(h, "cat")
    cash, big = ids[("p", "cashback")], ids[("p", "big-order")]
    assert isinstance(h.run(h.ledger.apply(refund("f1", "cat", "o1", "500"), T0)), ClawedBack)
    assert clawbacks(h, "cat") == [(cash, 50, 0), (big, 12, 0)]
    h.run(h.ledger.apply(refund("f2", "cat", "o1", "500"), T0))
    # Cumulative: half the order is refunded, so 100 and 25 in all (12 + 13, no drift).
    assert clawbacks(h, "cat")[2:] == [(cash, 50, 0), (big, 13, 0)]
    h.run(h.ledger.apply(redemption("r", "cat", 110), T0))  # takes big's 25, then 85 of cash
    h.run(h.ledger.apply(refund("f3", "cat", "o1"), T0))  # the rest, in full
    assert clawbacks(h, "cat")[4:] == [(cash, 100, 85), (big, 25, 25)]
    h.run(h.ledger.apply(refund("f4", "cat", "o1", "1"), T0))
    assert len(clawbacks(h, "cat")) == 6  # nothing left to claw back
    view = h.run(h.ledger.customer_view("cat", T0))
    assert view is not None
    assert view.totals == {"accrued": 250, "redeemed": 110, "burned": 0, "clawed_back": 140}
    assert (view.balance, view.pending, view.lots) == (0, 0, ())
    snapshot = h.outputs("cat", "balance")[-1]
    assert isinstance(snapshot, BalanceSnapshot)
    assert (snapshot.balance, snapshot.version) == (0, 6)


def test_refund_over_the_order_amount_takes_everything_once(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p", "dan", "500", T0, order="o1"), T0))
    h.run(h.ledger.apply(refund("f1", "dan", "o1", "400"), T0))
    h.run(h.ledger.apply(refund("f2", "dan", "o1", "400"), T0))
    assert [points for _, points, _ in clawbacks(h, "dan")] == [40, 10]


def test_refund_repeats_and_unknown_orders(h: Harness) -> None:
    h.run(h.ledger.apply(purchase("p", "eve", "500", T0, order="o1"), T0))
    event = refund("f1", "eve", "o1")
    h.run(h.ledger.apply(event, T0))
    before = h.outbox("eve")
    assert h.run(h.ledger.apply(event, T0)) == Duplicate("applied")
    assert isinstance(h.run(h.ledger.apply(refund("f1", "eve", "o1", "1"), T0)), Conflict)
    assert h.outbox("eve") == before
    unknown = h.run(h.ledger.apply(refund("f2", "eve", "nope"), T0))
    assert unknown == ClawedBack(status="unknown_order", version=2)
    assert h.outbox("eve") == before
