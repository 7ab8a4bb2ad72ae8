"""What the simulator believes a guest holds, so that redemptions ask for points that exist.

Built on the pure core (accrual planning, caps, segments, redemption order, clawback shares),
so the guesses match what the workers will do; they are still guesses (the workers' clock, not
the event time, decides when a lot is active), and a wrong guess only turns an accepted
redemption into a rejected one, which the demo wants to show anyway.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from schemas.inputs import AppInstall, Purchase
from streams.core.accrual import capped_points, plan_accruals
from streams.core.clawback import clawback_points
from streams.core.ids import SOURCE_APP_INSTALLS, SOURCE_PURCHASES
from streams.core.model import CustomerStats, LotPlan
from streams.core.redemption import LotBalance, active_balance, allocate
from streams.core.segments import apply_purchase
from streams.rules.model import RulesFile


@dataclass(slots=True)
class _Lot:
    plan: LotPlan
    granted: int
    left: int
    clawed: int = 0

    def balance(self) -> LotBalance:
        return LotBalance(
            self.plan.lot_id,
            self.left,
            self.plan.issued_at,
            self.plan.activates_at,
            self.plan.expires_at,
        )


@dataclass
class Wallet:
    """One guest's statistics and lots as the core would compute them."""

    rules: RulesFile
    stats: CustomerStats = field(default_factory=CustomerStats)
    lots: list[_Lot] = field(default_factory=list)
    once_given: set[str] = field(default_factory=set)
    refunded: dict[str, Decimal] = field(default_factory=dict)

    def earn(self, event: Purchase | AppInstall) -> list[LotPlan]:
        """Record ``event``; return the lots it earns after once-per-customer and caps."""
        source = SOURCE_PURCHASES if isinstance(event, Purchase) else SOURCE_APP_INSTALLS
        granted = []
        for plan in plan_accruals(event, self.rules, self.stats, source):
            if plan.rule_id is None:
                continue
            if plan.once_per_customer and plan.rule_id in self.once_given:
                continue
            points = plan.points
            if plan.cap is not None:
                given = sum(
                    lot.granted
                    for lot in self.lots
                    if lot.plan.rule_id == plan.rule_id
                    and lot.plan.issued_at >= plan.cap.window_start
                )
                points = capped_points(points, given, plan.cap.max_points)
            if points <= 0:
                continue
            self.once_given.add(plan.rule_id)
            self.lots.append(_Lot(plan, points, points))
            granted.append(dataclasses.replace(plan, points=points))
        if isinstance(event, Purchase):
            self.stats = apply_purchase(self.stats, event)
        return granted

    def active(self, at: datetime) -> int:
        """The points spendable at ``at``."""
        return active_balance((lot.balance() for lot in self.lots), at)

    def redeem(self, points: int, at: datetime) -> bool:
        """Spend ``points`` at ``at`` if there are enough (all or nothing)."""
        taken = allocate([lot.balance() for lot in self.lots], points, at)
        if taken is None:
            return False
        by_id = dict(taken)
        for lot in self.lots:
            lot.left -= by_id.get(lot.plan.lot_id, 0)
        return True

    def refund(self, order_id: str, amount: Decimal | None) -> None:
        """Take back (a share of) the lots of ``order_id``, as far as they still hold points."""
        for lot in self.lots:
            order_amount = lot.plan.order_amount
            if lot.plan.order_id != order_id or order_amount is None:
                continue
            before = self.refunded.get(order_id, Decimal(0))
            after = order_amount if amount is None else min(order_amount, before + amount)
            total = clawback_points(lot.granted, order_amount, after)
            step = max(0, total - lot.clawed)
            lot.clawed += step
            lot.left = max(0, lot.left - step)
        previous = self.refunded.get(order_id, Decimal(0))
        self.refunded[order_id] = previous + amount if amount is not None else Decimal("Infinity")
