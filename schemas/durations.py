"""ISO 8601 durations (``P14D``, ``PT12H``, ``P1W``, ``P1M``) with calendar-correct arithmetic.

A duration has a nominal part (years, months, weeks, days) and an exact part (hours, minutes,
seconds). The nominal part moves the wall clock of a time zone: ``P1D`` from 10:00 is 10:00 the
next day even across a DST change, ``P1M`` from 31 January is the last day of February. The exact
part is then added as elapsed time. This is what a customer reading "valid for 14 days" expects.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_MAX_PART = 100_000


class DurationError(ValueError):
    """A text that is not an ISO 8601 duration this project accepts."""


@dataclass(frozen=True, slots=True, order=False)
class Duration:
    """A non-negative ISO 8601 duration: ``months`` and ``days`` are nominal, ``seconds`` exact."""

    months: int = 0
    days: int = 0
    seconds: int = 0

    def __post_init__(self) -> None:
        if self.months < 0 or self.days < 0 or self.seconds < 0:
            raise DurationError("durations are never negative")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``text`` (``P1Y2M3W4DT5H6M7S`` and its parts); raise DurationError if invalid."""
        match = _PATTERN.match(text) if isinstance(text, str) else None
        if match is None:
            raise DurationError(
                f"{text!r} is not an ISO 8601 duration such as P14D, PT12H, P1W or PT30M"
            )
        parts = {name: int(value or 0) for name, value in match.groupdict().items()}
        if any(value > _MAX_PART for value in parts.values()):
            raise DurationError(f"{text!r} is out of range")
        duration = cls(
            months=parts["years"] * 12 + parts["months"],
            days=parts["weeks"] * 7 + parts["days"],
            seconds=parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"],
        )
        if duration.is_zero:
            raise DurationError(f"{text!r} is zero; a duration here must be positive")
        return duration

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.days == 0 and self.seconds == 0

    def add_to(self, moment: datetime, tz: tzinfo = UTC) -> datetime:
        """``moment`` plus this duration; the nominal part is counted on ``tz``'s wall clock."""
        return _shift(moment, self, tz, sign=1)

    def subtract_from(self, moment: datetime, tz: tzinfo = UTC) -> datetime:
        """``moment`` minus this duration; the nominal part is counted on ``tz``'s wall clock."""
        return _shift(moment, self, tz, sign=-1)

    def longest_seconds(self) -> int:
        """An upper bound of the elapsed seconds this duration can span (31-d months, 25-h days)."""
        return self.months * 31 * 86_400 + self.days * 90_000 + self.seconds

    def shortest_seconds(self) -> int:
        """A lower bound of the elapsed seconds this duration can span (28-d months, 23-h days)."""
        return self.months * 28 * 86_400 + self.days * 82_800 + self.seconds

    def __str__(self) -> str:
        text = "P"
        years, months = divmod(self.months, 12)
        if years:
            text += f"{years}Y"
        if months:
            text += f"{months}M"
        if self.days:
            text += f"{self.days // 7}W" if self.days % 7 == 0 else f"{self.days}D"
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        if self.seconds:
            text += "T"
            text += f"{hours}H" if hours else ""
            text += f"{minutes}M" if minutes else ""
            text += f"{seconds}S" if seconds else ""
        return text if text != "P" else "PT0S"


def _shift(moment: datetime, duration: Duration, tz: tzinfo, sign: int) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not accepted; give an explicit offset")
    if duration.months or duration.days:
        local = moment.astimezone(tz).replace(tzinfo=None)
        total = local.year * 12 + (local.month - 1) + sign * duration.months
        year, month0 = divmod(total, 12)
        day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
        local = local.replace(year=year, month=month0 + 1, day=day)
        local += timedelta(days=sign * duration.days)
        moment = resolve_local(local, tz)
    # Exact seconds are elapsed time: add them in UTC, not on a zone's wall clock.
    return moment.astimezone(UTC) + timedelta(seconds=sign * duration.seconds)


def resolve_local(local: datetime, tz: tzinfo) -> datetime:
    """Attach ``tz`` to a wall-clock time: a time skipped by DST moves forward past the gap,
    an ambiguous one takes the first (earlier) occurrence."""
    # fold=0 reads the wall time with the offset in force before a transition: an ambiguous
    # time is its first occurrence, and a time inside a gap lands as far past the gap's end
    # as it was past its start (02:30 on a 02:00->03:00 spring-forward day is 03:30).
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _coerce(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration.parse(value)
    raise DurationError("a duration must be an ISO 8601 string such as P14D")


DurationField = Annotated[
    Duration,
    BeforeValidator(_coerce),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": _PATTERN.pattern, "examples": ["P14D", "PT12H", "P1W"]}
    ),
]
"""A pydantic field type for ISO 8601 durations, serialised back to canonical text."""
