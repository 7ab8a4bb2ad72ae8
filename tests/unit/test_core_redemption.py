"""Redemption reference model: consumption order, active lots only, all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.core.redemption import LotBalance, active_balance, allocate, consumption_order

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def lot(
    lot_id: str, points: int, expires_in: int, issued_ago: int = 1, pending: int = 0
) -> LotBalance:
    return LotBalance(
        lot_id=lot_id,
        points_left=points,
        issued_at=T0 - timedelta(days=issued_ago),
        activates_at=T0 + timedelta(days=pending) if pending else T0 - timedelta(days=issued_ago),
        expires_at=T0 + timedelta(days=expires_in),
    )


def test_order_is_deadline_then_issue_then_id() -> None:
    lots = [
        lot("b", 10, expires_in=5, issued_ago=1),
        lot("a", 10, expires_in=5, issued_ago=1),  # same deadline and issue time: by id
        lot("z", 10, expires_in=5, issued_ago=2),  # same deadline, issued earlier
        lot("y", 10, expires_in=3, issued_ago=1),  # earliest deadline
    ]
    assert [x.lot_id for x in consumption_order(lots)] == ["y", "z", "a", "b"]
    assert [x.lot_id for x in consumption_order(reversed(lots))] == ["y", "z", "a", "b"]


def test_allocation_takes_earliest_deadline_first_across_lots() -> None:
    lots = [
        lot("late", 100, expires_in=9),
        lot("soon", 30, expires_in=2),
        lot("mid", 50, expires_in=5),
    ]
    assert allocate(lots, 60, T0) == [("soon", 30), ("mid", 30)]
    assert allocate(lots, 180, T0) == [("soon", 30), ("mid", 50), ("late", 100)]


def test_too_few_points_takes_nothing() -> None:
    lots = [lot("a", 30, expires_in=2), lot("b", 20, expires_in=5)]
    assert allocate(lots, 51, T0) is None


def test_only_active_lots_count() -> None:
    lots = [
        lot("pending", 100, expires_in=30, pending=1),
        lot("expired", 100, expires_in=0),  # expires_at == now: no longer active
        lot("spent", 0, expires_in=3),
        lot("ok", 10, expires_in=4),
    ]
    assert active_balance(lots, T0) == 10
    assert allocate(lots, 10, T0) == [("ok", 10)]
    assert allocate(lots, 11, T0) is None
    # A lot is active from its activation instant on.
    assert allocate(lots, 50, T0 + timedelta(days=1)) == [("ok", 10), ("pending", 40)]


def test_non_positive_request_is_an_error() -> None:
    with pytest.raises(ValueError, match="positive"):
        allocate([], 0, T0)
