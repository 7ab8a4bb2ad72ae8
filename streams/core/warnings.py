"""Expiry warnings, the reference model: which warning fires and which lots it covers.

A lot is due a warning for each lead at ``expires_at - lead``. When one comes due, ONE warning
for that customer and lead covers every lot with points left, that lead not yet warned, not
expired, expiring no later than the trigger's ``coalesce_until``; each is then marked warned
for that lead. A lot whose rule does not list the lead is covered too: the customer hears of
every point that burns in that span.

When several leads of a lot are due at once (a lot created already inside two windows, or a
timer that fired late), only the shortest (most urgent) one is sent; the longer ones are marked
as warned without a message, so a customer never gets "3 days left" after "1 day left".

The daily cap (``max_warnings_per_day`` of the rules file, :class:`DailyCap`): a customer gets
at most that many ExpiryWarning messages per calendar day of the rules' time zone (the day a
customer reads on the clock, as ``round_up_to: day`` uses; a rolling 24 hours would let a
warning at 23:00 block the next morning's). Past the cap nothing is lost:

* when more warnings are due at once than the day has left, the first ones go out as they are
  and the rest FOLD into the last allowed one (:func:`fold`): it covers all their lots;
* when the day has none left, the due warnings are deferred to the start of the next day, where
  they come due again and fold into that day's first warning (a deferral marks nothing, so each
  lot is still warned once per lead, and a longer lead that a shorter one overtook meanwhile is
  superseded as usual);
* except that a lot never burns unwarned: if any lot the deferred warnings cover expires at or
  before the start of the next day, they are sent at once, folded into one message, even past the
  cap. Never losing points unannounced wins over the cap: a reminder too many is a nuisance, points
  burnt without one are a complaint.

Forced messages count toward the day like any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from schemas.durations import resolve_local
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


@dataclass(frozen=True, slots=True)
class DailyCap:
    """``max_warnings_per_day`` as it stands for one customer at one moment."""

    per_day: int  # max_warnings_per_day, >= 1
    sent_today: int  # warnings the customer already got on this calendar day
    next_day: datetime  # start of the next calendar day: when deferred warnings come due again

    @property
    def left(self) -> int:
        """How many more warnings the customer may get today."""
        return max(0, self.per_day - self.sent_today)


@dataclass(frozen=True, slots=True)
class WarningTally:
    """How many warnings a customer got on the calendar day that starts at ``day``."""

    day: datetime
    sent: int = 0

    def cap(self, per_day: int, now: datetime, tz: tzinfo) -> DailyCap:
        """The cap at ``now``: today's count is this tally's if it is of today, else 0."""
        start, next_day = calendar_day(now, tz)
        return DailyCap(per_day, self.sent if self.day == start else 0, next_day)

    def add(self, sent: int, now: datetime, tz: tzinfo) -> WarningTally:
        """The tally after ``sent`` more warnings at ``now``."""
        start, _ = calendar_day(now, tz)
        return WarningTally(start, (self.sent if self.day == start else 0) + sent)


def calendar_day(moment: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """``(start, start of the next)`` of the calendar day of ``moment`` on ``tz``'s wall clock,
    in UTC. A midnight skipped by DST starts the day at the first instant that exists."""
    midnight = moment.astimezone(tz).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    return resolve_local(midnight, tz), resolve_local(midnight + timedelta(days=1), tz)


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
    lots: Iterable[WarnableLot], now: datetime, cap: DailyCap | None = None
) -> tuple[list[WarningGroup], list[WarnableLot]]:
    """The warnings one customer gets at ``now`` and the lots with their ``warned`` updated.

    Triggers are taken earliest due first (ties by deadline, then lot id), so the result does
    not depend on the order the lots are given in. With ``cap``, at most ``cap.left`` messages
    (the excess folded into the last), or none while deferring (see the module docstring).
    """
    lots = list(lots)
    groups, after = _due_groups(lots, now)
    if cap is None or len(groups) <= cap.left:
        return groups, after
    if cap.left > 0:
        keep = cap.left - 1
        return [*groups[:keep], fold(groups[keep:])], after
    if any(lot.expires_at <= cap.next_day for group in groups for lot in group.lots):
        return [fold(groups)], after
    # Deferred: only the superseded (longer) leads are marked, as they would be tomorrow.
    return [], [replace(lot, warned=lot.warned | lead_to_fire(lot, now)[1]) for lot in lots]


def fold(groups: Sequence[WarningGroup]) -> WarningGroup:
    """One warning covering every lot of ``groups`` (given in the order they came due).

    It carries the lead and trigger of the most urgent group: the one covering the earliest
    deadline, of those the one due last (a shorter lead), so its ``lead`` matches its
    ``expires_at`` and its event id stays unique (that lead of that trigger fires once).
    """
    head = groups[0]
    for group in groups[1:]:
        if group.expires_at <= head.expires_at:
            head = group
    covered = {lot.lot_id: lot for group in groups for lot in group.lots}
    ordered = sorted(covered.values(), key=lambda lot: (lot.expires_at, lot.lot_id))
    return WarningGroup(lead=head.lead, trigger_lot_id=head.trigger_lot_id, lots=tuple(ordered))


def _due_groups(
    lots: Iterable[WarnableLot], now: datetime
) -> tuple[list[WarningGroup], list[WarnableLot]]:
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
