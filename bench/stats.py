"""Pure statistics of the benchmark: percentiles, rates, latency summaries."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-quantile (0 < q <= 1) of ``values``; NaN for no values."""
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    if not values:
        return math.nan
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])


def rate(count: int, seconds: float) -> float:
    """Events per second; 0 when nothing was timed."""
    return count / seconds if seconds > 0 and count > 0 else 0.0


@dataclass(frozen=True)
class Latency:
    """Latency percentiles in ms over every input; missing outputs count as censored.

    An input whose output had not arrived when the measurement stopped counts with the time it
    had waited by then: a lower bound, so that the percentiles never flatter a worker that could
    not keep up. ``complete`` says whether every output arrived.
    """

    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    inputs: int
    outputs: int
    complete: bool

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def latency(produced_ms: dict[int, int], received_ms: dict[int, int], stopped_ms: int) -> Latency:
    """Summarise latencies from produce times and output times, both keyed by input index."""
    values: list[float] = []
    outputs = 0
    for index, sent in produced_ms.items():
        got = received_ms.get(index)
        if got is None:
            values.append(float(max(0, stopped_ms - sent)))
        else:
            outputs += 1
            values.append(float(max(0, got - sent)))
    return Latency(
        p50_ms=percentile(values, 0.5),
        p99_ms=percentile(values, 0.99),
        p999_ms=percentile(values, 0.999),
        max_ms=max(values) if values else math.nan,
        inputs=len(produced_ms),
        outputs=outputs,
        complete=outputs == len(produced_ms),
    )


def window_rate(timestamps_ms: Sequence[int], start_ms: int | None = None) -> tuple[float, int]:
    """(events/s, events counted) of the outputs after ``start_ms`` (default: the first one).

    The first counted output only opens the window, so n outputs over [first, last] are n - 1
    intervals.
    """
    ordered = sorted(t for t in timestamps_ms if start_ms is None or t >= start_ms)
    if len(ordered) < 2:
        return 0.0, len(ordered)
    opened = ordered[0] if start_ms is None else start_ms
    counted = len(ordered) - 1 if start_ms is None else len(ordered)
    return rate(counted, (ordered[-1] - opened) / 1000), len(ordered)
