"""When a lot activates, when it expires, and when its warnings come due.

Nominal durations (days, weeks, months) move the wall clock of the rules' time zone, so "valid
for 14 days" ends at the same local time of day even across a DST change; rounding moves a
deadline to the END of its day, ISO week or month there, defined as the first instant of the
next period (points valid "until the end of Sunday" expire at Monday 00:00 local).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from schemas.durations import Duration, resolve_local
from streams.core.model import WarningPlan

Period = Literal["day", "week", "month"]


def round_up(moment: datetime, period: Period, tz: tzinfo) -> datetime:
    """The end of the ``period`` containing ``moment`` on ``tz``'s wall clock, in UTC.

    A moment exactly at a period's start is already the end of the previous period and stays.
    """
    local = moment.astimezone(tz).replace(tzinfo=None)
    start = _period_start(local, period)
    if resolve_local(start, tz) == moment.astimezone(UTC):
        return moment.astimezone(UTC)
    return resolve_local(_next_period_start(start, period), tz)


def _period_start(local: datetime, period: Period) -> datetime:
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight
    if period == "week":
        return midnight - timedelta(days=midnight.weekday())  # ISO weeks start on Monday
    return midnight.replace(day=1)


def _next_period_start(start: datetime, period: Period) -> datetime:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def lot_window(
    occurred_at: datetime,
    valid_for: Duration | None,
    tz: tzinfo,
    *,
    activates_after: Duration | None = None,
    round_up_to: Period | None = None,
    expires_at: datetime | None = None,
) -> tuple[datetime, datetime]:
    """``(activates_at, expires_at)`` of a lot issued at ``occurred_at``, both in UTC.

    ``expires_at`` (a campaign's absolute deadline) replaces ``valid_for``; rounding applies
    to either.
    """
    activates_at = (
        activates_after.add_to(occurred_at, tz)
        if activates_after is not None
        else occurred_at.astimezone(UTC)
    )
    if expires_at is not None:
        deadline = expires_at.astimezone(UTC)
    elif valid_for is not None:
        deadline = valid_for.add_to(activates_at, tz)
    else:
        raise ValueError("a lot needs valid_for or expires_at")
    if round_up_to is not None:
        deadline = round_up(deadline, round_up_to, tz)
    return activates_at, deadline


def warning_plans(
    expires_at: datetime, leads: Iterable[Duration], coalesce: Duration, tz: tzinfo
) -> tuple[WarningPlan, ...]:
    """One warning per distinct lead, due at ``expires_at - lead`` on ``tz``'s wall clock.

    Due times may lie before the lot is issued (a campaign expiring soon, a late event): the
    ledger then warns at once (see :mod:`streams.core.warnings`). Sorted by due time.
    """
    coalesce_until = coalesce.add_to(expires_at, tz)
    plans = {
        str(lead): WarningPlan(
            lead=str(lead),
            due_at=lead.subtract_from(expires_at, tz),
            coalesce_until=coalesce_until,
        )
        for lead in leads
    }
    return tuple(sorted(plans.values(), key=lambda plan: (plan.due_at, plan.lead)))
