"""Expiry warnings, the reference model: which warning fires and which lots it covers.

A lot is due a warning for each lead at ``expires_at - lead``. When one comes due, ONE warning
for that customer and lead covers every lot with points left, that lead not yet warned, not
expired, expiring no later than the trigger's ``coalesce_until``; each is then marked warned
for that lead. A lot whose rule does not list the lead is covered too: the customer hears of
every point that burns in that span.

When several leads of a lot are due at once (a lot created already inside two windows, or a
timer that fired late), only the shortest (most urgent) one is sent; the longer ones are marked
as warned without a message, so a customer never gets "3 days left" after "1 day left".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from streams.core.model import WarningPlan


@dataclass(frozen=True, slots=True)
class WarnableLot:
    """A lot as the warning logic sees it."""

    lot_id: str
    points_left: int
    expires_at: datetime
    warnings: tuple[WarningPlan, ...]  # sorted by due_at
    warned: frozenset[str] = frozenset()  # leads already warned (or superseded)

    def live(self, now: datetime) -> bool:
        """Has points that will burn: some left and not expired yet."""
        return self.points_left > 0 and now < self.expires_at


@dataclass(frozen=True, slots=True)
class WarningGroup:
    """One ExpiryWarning: the lead that fired and the lots it covers (soonest deadline first)."""

    lead: str
    trigger_lot_id: str
    lots: tuple[WarnableLot, ...]

    @property
    def points_expiring(self) -> int:
        """All points left in the covered lots."""
        return sum(lot.points_left for lot in self.lots)

    @property
    def expires_at(self) -> datetime:
        """The earliest deadline covered."""
        return min(lot.expires_at for lot in self.lots)


def lead_to_fire(lot: WarnableLot, now: datetime) -> tuple[WarningPlan | None, frozenset[str]]:
    """``(the plan to send now or None, leads to mark warned silently)`` for one lot."""
    if not lot.live(now):
        return None, frozenset()
    due = [plan for plan in lot.warnings if plan.due_at <= now]
    if not due:
        return None, frozenset()
    latest = max(due, key=lambda plan: plan.due_at)
    stale = frozenset(p.lead for p in due if p is not latest and p.lead not in lot.warned)
    if latest.lead in lot.warned:
        return None, stale
    return latest, stale


def next_warning_due(lot: WarnableLot) -> datetime | None:
    """When the lot next needs the warning logic (maybe in the past: then at once), or None."""
    if lot.points_left <= 0:
        return None
    pending = [
        p.due_at for p in lot.warnings if p.lead not in lot.warned and p.due_at < lot.expires_at
    ]
    return min(pending, default=None)


def warning_group(
    lots: Iterable[WarnableLot], plan: WarningPlan, trigger_lot_id: str, now: datetime
) -> WarningGroup:
    """The warning ``plan`` of lot ``trigger_lot_id`` sends: every live lot not yet warned for
    its lead and expiring by ``plan.coalesce_until``."""
    covered = tuple(
        sorted(
            (
                lot
                for lot in lots
                if lot.live(now)
                and plan.lead not in lot.warned
                and lot.expires_at <= plan.coalesce_until
            ),
            key=lambda lot: (lot.expires_at, lot.lot_id),
        )
    )
    return WarningGroup(lead=plan.lead, trigger_lot_id=trigger_lot_id, lots=covered)


def fire_due_warnings(
    lots: Iterable[WarnableLot], now: datetime
) -> tuple[list[WarningGroup], list[WarnableLot]]:
    """All warnings one customer is due at ``now`` and the lots with their ``warned`` updated.

    Triggers are taken earliest due first (ties by deadline, then lot id), so the result does
    not depend on the order the lots are given in.
    """
    state = {lot.lot_id: lot for lot in lots}
    groups: list[WarningGroup] = []
    while True:
        candidates = []
        for lot_id in list(state):
            plan, stale = lead_to_fire(state[lot_id], now)
            if stale:
                state[lot_id] = replace(state[lot_id], warned=state[lot_id].warned | stale)
            if plan is not None:
                candidates.append((plan.due_at, state[lot_id].expires_at, lot_id, plan))
        if not candidates:
            return groups, list(state.values())
        _, _, trigger_id, plan = min(candidates, key=lambda c: (c[0], c[1], c[2]))
        group = warning_group(state.values(), plan, trigger_id, now)
        groups.append(group)
        for covered in group.lots:
            state[covered.lot_id] = replace(covered, warned=covered.warned | {plan.lead})
