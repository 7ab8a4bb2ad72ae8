"""The service clock: the one source of "now" for every process of the pipeline.

Real time by default. With ``BONUS_CLOCK_START`` set, the clock reads START at the real Unix
time ANCHOR (``BONUS_CLOCK_ANCHOR``, default: when the process started) and runs SPEED times
faster than real time (``BONUS_CLOCK_SPEED``), so that several processes given the same three
values agree on the simulated time. Demos and tests run days in seconds this way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from streams.settings import Settings

RealTime = Callable[[], float]


class Clock(Protocol):
    """What the pipeline needs of a clock."""

    def now(self) -> datetime:
        """The service time, timezone-aware UTC."""
        ...

    def now_ms(self) -> int:
        """The service time in Unix milliseconds."""
        ...

    def real_seconds(self, service_seconds: float) -> float:
        """How many real seconds ``service_seconds`` of service time take."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The real time."""

    real_time: RealTime = field(default=time.time)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.real_time(), UTC)

    def now_ms(self) -> int:
        return int(self.real_time() * 1000)

    def real_seconds(self, service_seconds: float) -> float:
        return service_seconds


@dataclass(frozen=True)
class ScaledClock:
    """A clock that reads ``start`` at real time ``anchor`` and runs ``speed`` times faster."""

    start: datetime
    speed: float
    anchor: float
    real_time: RealTime = field(default=time.time)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the clock start needs an explicit offset")
        if self.speed <= 0:
            raise ValueError("the clock speed must be positive")

    def now(self) -> datetime:
        elapsed = (self.real_time() - self.anchor) * self.speed
        return (self.start + timedelta(seconds=elapsed)).astimezone(UTC)

    def now_ms(self) -> int:
        # Integer arithmetic on the start keeps milliseconds exact however far the clock runs.
        start_ms = int(self.start.timestamp()) * 1000 + self.start.microsecond // 1000
        return start_ms + int((self.real_time() - self.anchor) * self.speed * 1000)

    def real_seconds(self, service_seconds: float) -> float:
        return service_seconds / self.speed


def clock_from_settings(
    settings: Settings, process_started: float | None = None, real_time: RealTime = time.time
) -> Clock:
    """The clock the settings ask for; ``process_started`` is the default anchor."""
    if settings.clock_start is None:
        return SystemClock(real_time)
    anchor = settings.clock_anchor
    if anchor is None:
        anchor = process_started if process_started is not None else real_time()
    return ScaledClock(settings.clock_start, settings.clock_speed, anchor, real_time)
