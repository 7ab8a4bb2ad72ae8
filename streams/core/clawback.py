"""Refund clawbacks: how many points of a lot a (partial) refund of its order takes back.

Partial refunds accumulate: the share clawed back is always computed from the cumulative
refunded amount, so two refunds of half the order claw back exactly what one full refund would,
with no rounding drift (``floor(p * a / t) + floor(p * b / t)`` can fall short).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext


def clawback_points(
    original_points: int, order_amount: Decimal, refunded_amount_cumulative: Decimal | None
) -> int:
    """Points to claw back in total after refunds worth ``refunded_amount_cumulative``.

    ``floor(original * refunded / amount)``; a refund without amount (None) or of at least the
    order amount takes everything.
    """
    if order_amount <= 0:
        raise ValueError("an order amount is positive")
    if refunded_amount_cumulative is None or refunded_amount_cumulative >= order_amount:
        return original_points
    with localcontext() as context:
        context.prec = 80
        share = original_points * refunded_amount_cumulative / order_amount
        return int(share.to_integral_value(rounding=ROUND_FLOOR))


def clawback_step(
    original_points: int,
    order_amount: Decimal,
    refunded_before: Decimal,
    refund_amount: Decimal | None,
    clawed_before: int,
) -> tuple[int, Decimal]:
    """``(points to claw back now, refunded total after)`` for one more refund.

    ``refund_amount`` None is a full refund of what remains. The step is never negative.
    """
    refunded_after = order_amount if refund_amount is None else refunded_before + refund_amount
    refunded_after = min(refunded_after, order_amount)
    total = clawback_points(original_points, order_amount, refunded_after)
    return max(0, total - clawed_before), refunded_after


def split_recovery(points_to_claw: int, points_left: int) -> tuple[int, int]:
    """``(recovered, unrecovered)``: what the lot still holds is taken back; the rest was
    already spent (or burned) and is reported as ``points_unrecovered``."""
    recovered = min(points_to_claw, max(points_left, 0))
    return recovered, points_to_claw - recovered
