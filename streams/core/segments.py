"""Segment membership, judged on a customer's statistics BEFORE the event at hand.

Bounds are inclusive. Averages are compared exactly (``total >= bound * count``, no division),
and days since the last purchase are whole days: the elapsed time floored to multiples of
86 400 s, so 59 days 23 hours is 59 days.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from schemas.inputs import Purchase
from streams.core.model import CustomerStats
from streams.rules.model import Segment

_DAY_SECONDS = 86_400


def avg_check(stats: CustomerStats) -> Decimal | None:
    """The average purchase amount, or None for a customer with no purchase."""
    return stats.total_amount / stats.purchases if stats.purchases else None


def days_since_last_purchase(stats: CustomerStats, at: datetime) -> int | None:
    """Whole days from the last purchase to ``at``; None without any purchase.

    An event older than the last purchase (out of order) counts as 0 days, never negative.
    """
    if stats.last_purchase_at is None:
        return None
    elapsed = (at - stats.last_purchase_at).total_seconds()
    return max(0, int(elapsed // _DAY_SECONDS))


def segment_matches(segment: Segment, stats: CustomerStats, at: datetime) -> bool:
    """Whether a customer with ``stats`` belongs to ``segment`` at the event time ``at``."""
    if not _within(stats.purchases, segment.min_purchases, segment.max_purchases):
        return False
    if segment.min_avg_check is not None or segment.max_avg_check is not None:
        # A customer with no purchase has no average: such a condition does not hold.
        if stats.purchases == 0:
            return False
        if (
            segment.min_avg_check is not None
            and stats.total_amount < segment.min_avg_check * stats.purchases
        ):
            return False
        if (
            segment.max_avg_check is not None
            and stats.total_amount > segment.max_avg_check * stats.purchases
        ):
            return False
    low, high = segment.min_days_since_last_purchase, segment.max_days_since_last_purchase
    if low is not None or high is not None:
        days = days_since_last_purchase(stats, at)
        if days is None or not _within(days, low, high):
            return False
    return True


def apply_purchase(stats: CustomerStats, purchase: Purchase) -> CustomerStats:
    """The statistics after ``purchase``: one more purchase, its amount, its time.

    The last purchase time never moves back, so an out-of-order event cannot make a customer
    look dormant. Refunds do not change the statistics (the visit happened).
    """
    occurred_at = purchase.occurred_at
    last = stats.last_purchase_at
    return CustomerStats(
        purchases=stats.purchases + 1,
        total_amount=stats.total_amount + purchase.amount,
        last_purchase_at=occurred_at if last is None or occurred_at > last else last,
    )


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)
