"""The arithmetic of the metrics closer: shard counters of one window -> MetricsWindow events.

The ledger scripts (``count`` in ``streams/ledger/lua/lib.lua``) keep, per shard and window,
a HASH ``<dimension>\\x1f<measure code>`` -> n. A closed window's events are the sum of every
shard's counters, one MetricsWindow per dimension, with an ``event_id`` that depends only on
the window and the dimension, so a repeated publication is the same message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schemas.durations import Duration
from schemas.outputs import MetricsWindow
from streams.core.ids import output_event_id
from streams.ledger.codec import from_ms

SEP = "\x1f"

MEASURES: dict[str, str] = {
    "ap": "accrued_points",
    "al": "accrued_lots",
    "rp": "redeemed_points",
    "bp": "burned_points",
    "cp": "clawed_back_points",
    "w": "warnings",
    "wp": "warned_points",
    "rw": "redeemed_after_warning_points",
    "ac": "active_customers",
}
"""Measure code in the counters -> MetricsWindow field."""

Totals = dict[str, dict[str, int]]
"""dimension -> MetricsWindow field -> total."""


@dataclass(frozen=True, order=True, slots=True)
class Window:
    """A tumbling window of service time: ``[start_ms, start_ms + length_ms)``."""

    start_ms: int
    length_ms: int

    @property
    def end_ms(self) -> int:
        """Where the window ends (exclusive)."""
        return self.start_ms + self.length_ms

    @property
    def id(self) -> str:
        """``<start_ms>:<length_ms>``, the window's name in Redis."""
        return f"{self.start_ms}:{self.length_ms}"

    @classmethod
    def parse(cls, text: str) -> Window:
        """The window named ``<start_ms>:<length_ms>``."""
        start, length = text.split(":")
        window = cls(int(start), int(length))
        if window.length_ms <= 0:
            raise ValueError(f"a window needs a positive length: {text!r}")
        return window

    @classmethod
    def of(cls, now_ms: int, length_ms: int) -> Window:
        """The window containing ``now_ms``."""
        return cls(now_ms - now_ms % length_ms, length_ms)


def add_counters(totals: Totals, counters: Mapping[str, str | int]) -> Totals:
    """Add one shard's counters (``<dimension>\\x1f<code>`` -> n) to ``totals``; unknown codes
    (a newer worker's measures) are ignored."""
    for key, value in counters.items():
        dimension, _, code = key.rpartition(SEP)
        name = MEASURES.get(code)
        if name is None or not dimension:
            continue
        row = totals.setdefault(dimension, dict.fromkeys(MEASURES.values(), 0))
        row[name] += int(value)
    return totals


def sum_shards(shards: Iterable[Mapping[str, str | int]]) -> Totals:
    """The totals of one window over every shard's counters."""
    totals: Totals = {}
    for counters in shards:
        add_counters(totals, counters)
    return totals


def metrics_event_id(window: Window, dimension: str) -> str:
    """The deterministic ``event_id`` of a window's event for one dimension."""
    return output_event_id("metrics", str(window.start_ms), str(window.length_ms), dimension)


def _order(dimension: str) -> tuple[int, str]:
    return (0 if dimension == "all" else 1, dimension)


def window_events(window: Window, totals: Totals) -> list[MetricsWindow]:
    """One MetricsWindow per dimension (``all`` first, then by name)."""
    return [
        MetricsWindow(
            event_id=metrics_event_id(window, dimension),
            window_start=from_ms(window.start_ms),
            window_end=from_ms(window.end_ms),
            dimension=dimension,
            **totals[dimension],
        )
        for dimension in sorted(totals, key=_order)
    ]


def window_length_ms(length: Duration) -> int:
    """A metrics window length in ms: days count as 24 hours (UTC service time); months, whose
    length varies, are refused."""
    if length.months:
        raise ValueError("BONUS_METRICS_WINDOW must be a fixed length (days, hours, minutes)")
    return (length.days * 86_400 + length.seconds) * 1000
