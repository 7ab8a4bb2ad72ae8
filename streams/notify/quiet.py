"""Quiet hours and the decision of when to deliver a warning (pure: no clock, no I/O).

Quiet hours are a daily wall-clock span in a time zone (``22:00-08:00`` crosses midnight). A
warning that arrives inside them is held until they end, unless its deadline comes first: then
it goes at once, because a customer must never lose points because we stayed quiet. A warning
whose deadline has passed is not sent at all (its points are already gone).

Wall times are resolved like the rest of the project: a time a DST change skips moves forward
past the gap, an ambiguous one is its first occurrence. Comparisons are made in UTC, since
Python compares two datetimes of one zone by wall time alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Final

_SPAN: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Action(StrEnum):
    """What to do with a warning now."""

    SEND = "send"
    HOLD = "hold"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Decision:
    """``SEND`` now, ``HOLD`` until ``until`` (UTC), or ``SKIP`` (deadline already passed)."""

    action: Action
    until: datetime | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Every day from ``start`` to ``end`` (wall clock of ``zone``); ``end`` may be tomorrow."""

    start: time
    end: time
    zone: tzinfo

    @classmethod
    def parse(cls, text: str, zone: tzinfo) -> QuietHours:
        """``HH:MM-HH:MM`` in ``zone``; ValueError when malformed or empty."""
        match = _SPAN.match(text)
        if match is None:
            raise ValueError(f"quiet hours {text!r}: give HH:MM-HH:MM, e.g. 22:00-08:00")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"quiet hours {text!r}: hours 00-23, minutes 00-59")
        if (h1, m1) == (h2, m2):
            raise ValueError(f"quiet hours {text!r}: start and end are the same time")
        return cls(time(h1, m1), time(h2, m2), zone)

    def _wall(self, day: date, moment: time) -> datetime:
        # fold=0 resolves a skipped time past the gap and an ambiguous one to its first pass.
        return datetime.combine(day, moment, tzinfo=self.zone).astimezone(UTC)

    def period_end(self, now: datetime) -> datetime | None:
        """When the quiet period around ``now`` ends (UTC), or None if ``now`` is not quiet."""
        local = now.astimezone(self.zone)
        day = local.date()
        utc_now = now.astimezone(UTC)
        # The period that may contain now began today or (crossing midnight) yesterday.
        for began in (day, day - timedelta(days=1)):
            start = self._wall(began, self.start)
            end_day = began if self.end > self.start else began + timedelta(days=1)
            end = self._wall(end_day, self.end)
            if start <= utc_now < end:
                return end
        return None


def decide(now: datetime, deadline: datetime, quiet: QuietHours | None) -> Decision:
    """When to deliver a warning whose points burn at ``deadline``, seen at ``now``."""
    if deadline <= now:
        return Decision(Action.SKIP, reason="deadline passed")
    if quiet is None:
        return Decision(Action.SEND)
    end = quiet.period_end(now)
    if end is None:
        return Decision(Action.SEND)
    if deadline <= end:
        return Decision(Action.SEND, reason="deadline inside quiet hours")
    return Decision(Action.HOLD, until=end, reason="quiet hours")
