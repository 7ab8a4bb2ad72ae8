"""The closer's arithmetic: shard counters -> one MetricsWindow per dimension, ids that depend
only on the window and the dimension, window boundaries on the service clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.durations import Duration
from streams.analytics.counters import (
    MEASURES,
    SEP,
    Window,
    metrics_event_id,
    sum_shards,
    window_events,
    window_length_ms,
)

HOUR_MS = 3_600_000
T0 = int(datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp() * 1000)


def test_shards_add_up_per_dimension_and_measure() -> None:
    shard0 = {f"all{SEP}ap": "30", f"rule:cashback{SEP}ap": "30", f"all{SEP}ac": "1"}
    shard1: dict[str, str | int] = {f"all{SEP}ap": "50", f"rule:big{SEP}bp": "50"}
    shard1 |= {f"all{SEP}ac": "2", f"all{SEP}rw": 5}
    totals = sum_shards([shard0, shard1, {}])
    assert totals["all"]["accrued_points"] == 80
    assert totals["all"]["active_customers"] == 3
    assert totals["all"]["redeemed_after_warning_points"] == 5
    assert totals["rule:cashback"]["accrued_points"] == 30
    assert totals["rule:big"]["burned_points"] == 50
    assert totals["rule:big"]["accrued_points"] == 0
    assert set(totals["all"]) == set(MEASURES.values())


def test_unknown_measures_are_ignored() -> None:
    totals = sum_shards([{f"rule:a:b{SEP}w": "2", f"all{SEP}zz": "9", "junk": "1"}])
    assert totals == {"rule:a:b": {**dict.fromkeys(MEASURES.values(), 0), "warnings": 2}}


def test_events_one_per_dimension_all_first() -> None:
    window = Window(T0, HOUR_MS)
    totals = sum_shards([{f"rule:z{SEP}ap": "1", f"all{SEP}ap": "1", f"campaign:c{SEP}ap": "0"}])
    events = window_events(window, totals)
    assert [e.dimension for e in events] == ["all", "campaign:c", "rule:z"]
    first = events[0]
    assert first.window_start == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert first.window_end == datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert first.accrued_points == 1
    assert first.type == "bonus.metrics"
    assert window_events(window, {}) == []


def test_event_ids_depend_on_window_length_and_dimension_only() -> None:
    window = Window(T0, HOUR_MS)
    assert metrics_event_id(window, "all") == metrics_event_id(Window(T0, HOUR_MS), "all")
    others = {
        metrics_event_id(Window(T0 + HOUR_MS, HOUR_MS), "all"),
        metrics_event_id(Window(T0, 2 * HOUR_MS), "all"),
        metrics_event_id(window, "rule:all"),
    }
    assert metrics_event_id(window, "all") not in others
    assert len(others) == 3
    long_id = metrics_event_id(window, "rule:" + "x" * 130)
    assert long_id.startswith("metrics-")
    assert len(long_id) <= 128


def test_windows_are_aligned_and_named() -> None:
    window = Window.of(T0 + 1234, HOUR_MS)
    assert window == Window(T0, HOUR_MS)
    assert window.end_ms == T0 + HOUR_MS
    assert Window.parse(window.id) == window
    later = Window(T0 + HOUR_MS, HOUR_MS)
    assert sorted([later, window]) == [window, later]
    with pytest.raises(ValueError, match="positive"):
        Window.parse(f"{T0}:0")


def test_window_lengths() -> None:
    assert window_length_ms(Duration.parse("PT1H")) == HOUR_MS
    assert window_length_ms(Duration.parse("P1D")) == 24 * HOUR_MS
    assert window_length_ms(Duration.parse("PT30M")) == HOUR_MS // 2
    with pytest.raises(ValueError, match="fixed length"):
        window_length_ms(Duration.parse("P1M"))
