"""Segments: inclusive bounds, exact averages, whole days since the last purchase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from schemas.inputs import Purchase
from streams.core.model import CustomerStats
from streams.core.segments import (
    apply_purchase,
    avg_check,
    days_since_last_purchase,
    segment_matches,
)
from streams.rules.model import Segment

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DORMANT = Segment(min_avg_check=Decimal(3000), min_days_since_last_purchase=60)
VIP = Segment(min_purchases=10, min_avg_check=Decimal(5000))


def stats(purchases: int, total: str, days_ago: timedelta | None) -> CustomerStats:
    last = NOW - days_ago if days_ago is not None else None
    return CustomerStats(purchases, Decimal(total), last)


@pytest.mark.parametrize(
    ("ago", "days", "matches"),
    [
        (timedelta(days=60), 60, True),  # exactly 60 days
        (timedelta(days=60, seconds=-1), 59, False),  # one second short: 59 whole days
        (timedelta(days=60, hours=23), 60, True),
        (timedelta(days=400), 400, True),
    ],
)
def test_days_since_last_purchase_boundary(ago: timedelta, days: int, matches: bool) -> None:
    customer = stats(3, "9000", ago)
    assert days_since_last_purchase(customer, NOW) == days
    assert segment_matches(DORMANT, customer, NOW) is matches


def test_no_purchase_never_matches_days_or_average() -> None:
    newcomer = CustomerStats()
    assert days_since_last_purchase(newcomer, NOW) is None
    assert avg_check(newcomer) is None
    assert not segment_matches(Segment(max_days_since_last_purchase=1000), newcomer, NOW)
    assert not segment_matches(Segment(max_avg_check=Decimal(100)), newcomer, NOW)
    assert segment_matches(Segment(max_purchases=0), newcomer, NOW)
    assert segment_matches(Segment(), newcomer, NOW)  # no bound: everyone


@pytest.mark.parametrize(
    ("purchases", "total", "matches"),
    [
        (10, "50000", True),
        (10, "49999.99", False),
        (9, "90000", False),
        (3, "10000", True),  # 3333.333... >= 3333.3333, decided without rounding
        (3, "9999.9998", False),
    ],
)
def test_average_check_is_exact(purchases: int, total: str, matches: bool) -> None:
    segment = VIP if purchases >= 9 else Segment(min_avg_check=Decimal("3333.3333"))
    assert segment_matches(segment, stats(purchases, total, timedelta(days=1)), NOW) is matches


def test_upper_bounds_are_inclusive() -> None:
    segment = Segment(max_purchases=5, max_avg_check=Decimal(100), max_days_since_last_purchase=7)
    assert segment_matches(segment, stats(5, "500", timedelta(days=7, hours=1)), NOW)
    assert not segment_matches(segment, stats(6, "500", timedelta(days=1)), NOW)
    assert not segment_matches(segment, stats(5, "500.01", timedelta(days=1)), NOW)
    assert not segment_matches(segment, stats(5, "500", timedelta(days=8)), NOW)


def test_an_out_of_order_event_counts_zero_days() -> None:
    customer = stats(1, "100", timedelta(days=-3))  # last purchase after the event at hand
    assert days_since_last_purchase(customer, NOW) == 0


def test_apply_purchase_accumulates_and_never_moves_back() -> None:
    def purchase(at: datetime, amount: str) -> Purchase:
        return Purchase.model_validate(
            {
                "event_id": f"e-{at.isoformat()}",
                "occurred_at": at.isoformat(),
                "customer_id": "c",
                "order_id": "o",
                "amount": amount,
                "currency": "RUB",
                "channel": "pos",
            }
        )

    after = apply_purchase(CustomerStats(), purchase(NOW, "100.5"))
    assert after == CustomerStats(1, Decimal("100.5"), NOW)
    older = apply_purchase(after, purchase(NOW - timedelta(days=2), "99.5"))
    assert older == CustomerStats(2, Decimal(200), NOW)
    assert avg_check(older) == Decimal(100)
