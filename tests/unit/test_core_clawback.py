"""Refund clawbacks: full, partial (floored), accumulating, and what was already spent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streams.core.clawback import clawback_points, clawback_step, split_recovery


@pytest.mark.parametrize(
    ("refunded", "clawed"),
    [
        (None, 50),
        (Decimal(1000), 50),
        (Decimal(5000), 50),
        (Decimal(500), 25),
        (Decimal("19.99"), 0),
        (Decimal(333), 16),
    ],
)
def test_clawback_points(refunded: Decimal | None, clawed: int) -> None:
    assert clawback_points(50, Decimal(1000), refunded) == clawed


def test_partial_refunds_accumulate_without_drift() -> None:
    # Three refunds of a third: 33 + 33 + 34 = 100, not 3 * floor(100/3) = 99.
    total_clawed, refunded = 0, Decimal(0)
    steps = []
    for _ in range(3):
        step, refunded = clawback_step(100, Decimal(300), refunded, Decimal(100), total_clawed)
        steps.append(step)
        total_clawed += step
    assert steps == [33, 33, 34]
    assert refunded == Decimal(300)


def test_full_refund_after_a_partial_one_takes_the_rest() -> None:
    step, refunded = clawback_step(100, Decimal(300), Decimal(100), None, 33)
    assert (step, refunded) == (67, Decimal(300))
    # A further refund changes nothing.
    assert clawback_step(100, Decimal(300), refunded, Decimal(10), 100) == (0, Decimal(300))


def test_spent_points_are_unrecovered() -> None:
    assert split_recovery(50, 80) == (50, 0)
    assert split_recovery(50, 20) == (20, 30)
    assert split_recovery(50, 0) == (0, 50)


def test_order_amount_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        clawback_points(10, Decimal(0), None)
