"""``bonus report``: sums per dimension inside the range, repeats once, breakage and reminder
conversion, the validity-length view, and the three formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.outputs import MetricsWindow
from streams.analytics.counters import MEASURES, Window, metrics_event_id
from streams.analytics.report import (
    build_report,
    render_csv,
    render_json,
    render_table,
    report_main,
)
from streams.rules.loader import parse_rules

T0 = datetime(2026, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULES = parse_rules(
    """
timezone: UTC
rules:
  - {id: a, event: purchase, points: {fixed: 1}, valid_for: P7D}
  - {id: b, event: purchase, points: {fixed: 1}, valid_for: P7D}
  - {id: c, event: purchase, points: {fixed: 1}, valid_for: P14D}
"""
)


def window(hour: int, dimension: str, **counts: int) -> MetricsWindow:
    """A MetricsWindow of the hour ``hour`` after T0 (unnamed counts are 0)."""
    start = T0 + hour * HOUR
    named = Window(int(start.timestamp() * 1000), 3_600_000)
    return MetricsWindow(
        event_id=metrics_event_id(named, dimension),
        window_start=start,
        window_end=start + HOUR,
        dimension=dimension,
        **{**dict.fromkeys(MEASURES.values(), 0), **counts},
    )


WINDOWS = [
    window(0, "all", accrued_points=300, accrued_lots=3),
    window(0, "rule:a", accrued_points=100, accrued_lots=1),
    window(0, "rule:a", accrued_points=100, accrued_lots=1),  # a repeat: counted once
    window(0, "rule:b", accrued_points=100, accrued_lots=1),
    window(0, "rule:c", accrued_points=100, accrued_lots=1),
    window(5, "rule:a", burned_points=25, warnings=1, warned_points=80),
    window(5, "rule:a", redeemed_points=40),  # same event_id as the one before: dropped
    window(6, "rule:b", redeemed_points=40, redeemed_after_warning_points=20, warned_points=40),
    window(30, "rule:a", accrued_points=1000),  # outside the range
]


def test_sums_inside_the_range_with_rates() -> None:
    report = build_report(WINDOWS, T0, T0 + 24 * HOUR)
    rows = {row.dimension: row for row in report.rows}
    assert [row.dimension for row in report.rows] == ["all", "rule:a", "rule:b", "rule:c"]
    assert rows["rule:a"].totals["accrued_points"] == 100
    assert rows["rule:a"].totals["burned_points"] == 25
    assert rows["rule:a"].totals["redeemed_points"] == 0
    assert rows["rule:a"].breakage_rate == 0.25
    assert rows["rule:a"].reminder_conversion == 0.0
    assert rows["rule:b"].reminder_conversion == 0.5
    assert rows["rule:c"].reminder_conversion is None
    assert report.windows == 3
    assert build_report([], T0, T0 + HOUR).rows == []


def test_a_window_must_lie_inside_the_range() -> None:
    report = build_report(WINDOWS, T0 + HOUR, T0 + 6 * HOUR)
    assert [(r.dimension, r.totals["burned_points"]) for r in report.rows] == [("rule:a", 25)]


def test_breakage_per_validity_length() -> None:
    report = build_report(WINDOWS, T0, T0 + 24 * HOUR, RULES)
    groups = {row.dimension: row for row in report.by_validity}
    assert set(groups) == {"valid_for:P1W", "valid_for:P2W"}
    assert groups["valid_for:P1W"].totals["accrued_points"] == 200
    assert groups["valid_for:P1W"].breakage_rate == 25 / 200
    assert groups["valid_for:P2W"].breakage_rate == 0.0


def test_formats() -> None:
    report = build_report(WINDOWS, T0, T0 + 24 * HOUR, RULES)
    table = render_table(report)
    assert "breakage" in table
    assert "conversion" in table
    assert "25.0%" in table
    assert "by validity length" in table
    lines = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert lines[0]["dimension"] == "all"
    assert lines[1]["breakage_rate"] == "0.25"
    assert lines[3]["reminder_conversion"] == ""  # rule:c was never warned
    data = json.loads(render_json(report))
    assert data["from"] == "2026-12-01T00:00:00Z"
    assert data["rows"][1]["dimension"] == "rule:a"
    assert data["rows"][2]["reminder_conversion"] == 0.5
    assert "no metrics windows" in render_table(build_report([], T0, T0 + HOUR))


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        report_main(["--from", "2026-12-01T00:00:00", "--to", "2026-12-02T00:00:00Z"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        report_main(["--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z"])
    assert "later than" in capsys.readouterr().err
