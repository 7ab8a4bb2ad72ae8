"""Counts what the workers published: points accrued, redeemed, burned, clawed back, warnings,
dead letters, and each guest's latest balance. Pure: the consumer hands it the raw messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from schemas import (
    BalanceSnapshot,
    BonusAccrued,
    BonusBurned,
    BonusClawedBack,
    DeadLetter,
    ExpiryWarning,
    InvalidEvent,
    RedemptionResult,
    decode_output,
)


@dataclass
class Tally:
    """Running totals of the output topics for the demo's guests (others are ignored).

    ``customers`` limits the count to this run's guests: the topics may hold earlier runs.
    """

    customers: Collection[str] | None = None
    outputs: int = 0
    unreadable: int = 0
    accrued: int = 0
    accrued_lots: int = 0
    accrued_by_rule: Counter[str] = field(default_factory=Counter)
    redeemed: int = 0
    accepted: int = 0
    rejected: int = 0
    burned: int = 0
    burned_lots: int = 0
    clawed_back: int = 0
    clawbacks: int = 0
    unrecovered: int = 0
    warnings: int = 0
    warned_points: int = 0
    dead_letters: int = 0
    dead_letter_codes: Counter[str] = field(default_factory=Counter)
    balances: dict[str, BalanceSnapshot] = field(default_factory=dict)

    def record(self, key: bytes | None, value: bytes | None) -> bool:
        """Count one output message; return whether it was one of ours and readable."""
        customer = key.decode("utf-8", errors="replace") if key is not None else None
        if self.customers is not None and customer not in self.customers:
            return False
        try:
            event = decode_output(value or b"")
        except InvalidEvent:
            self.unreadable += 1
            return False
        self.outputs += 1
        self._count(event)
        return True

    def _count(self, event: object) -> None:
        if isinstance(event, BonusAccrued):
            self.accrued += event.points
            self.accrued_lots += 1
            self.accrued_by_rule[event.rule_id or f"campaign:{event.campaign_id}"] += event.points
        elif isinstance(event, RedemptionResult):
            if event.status == "accepted":
                self.accepted += 1
                self.redeemed += event.points_redeemed
            else:
                self.rejected += 1
        elif isinstance(event, BonusBurned):
            self.burned += event.points
            self.burned_lots += 1
        elif isinstance(event, BonusClawedBack):
            self.clawed_back += event.points
            self.clawbacks += 1
            self.unrecovered += event.points_unrecovered
        elif isinstance(event, ExpiryWarning):
            self.warnings += 1
            self.warned_points += event.points_expiring
        elif isinstance(event, DeadLetter):
            self.dead_letters += 1
            self.dead_letter_codes[event.error.code] += 1
        elif isinstance(event, BalanceSnapshot):
            known = self.balances.get(event.customer_id)
            # The topic keeps order per customer, but a relay may repeat: keep the newest.
            if known is None or event.version >= known.version:
                self.balances[event.customer_id] = event

    @property
    def answers(self) -> int:
        """Outputs that only inputs cause (accruals, redemption results, clawbacks, dead
        letters): unlike burns and warnings, which the timers keep firing as the clock runs,
        these stop once the workers have processed every input."""
        return (
            self.accrued_lots + self.accepted + self.rejected + self.clawbacks + self.dead_letters
        )

    def richest(self) -> BalanceSnapshot | None:
        """The guest with the most points (active and pending), to show as an example."""
        if not self.balances:
            return None
        return max(self.balances.values(), key=lambda b: (b.balance + b.pending, b.customer_id))
