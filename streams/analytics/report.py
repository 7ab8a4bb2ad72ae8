"""``bonus report``: points flow per rule and campaign over a time range, from ``bonus.metrics``.

    bonus report --from 2026-12-01T00:00:00Z --to 2027-01-01T00:00:00Z
    bonus report --from 2026-12-01T00:00:00Z --to 2026-12-08T00:00:00Z --format csv

Reads the metrics topic from the beginning up to its end offsets (no committed group offsets),
keeps the windows that lie inside ``[--from, --to)``, drops repeats by ``event_id`` and sums
them per dimension. Breakage rate = burned / accrued (points that expired unused); reminder
conversion = redeemed after a warning / warned points (did the reminder bring the customer
back). With a rules file (``--rules`` or ``BONUS_RULES_FILE``) the rules are also grouped by
their validity length, to compare breakage across validity lengths.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from pydantic import ValidationError

from schemas import Topic, parse_time, topic_name
from schemas.errors import BonusError
from schemas.outputs import MetricsWindow
from streams.rules.loader import load_rules
from streams.rules.model import RulesFile
from streams.settings import Settings, SettingsError, load_settings

SUMMED = (
    "accrued_points",
    "accrued_lots",
    "redeemed_points",
    "burned_points",
    "clawed_back_points",
    "warnings",
    "warned_points",
    "redeemed_after_warning_points",
)
COLUMNS = (
    ("dimension", "dimension"),
    ("accrued_points", "accrued"),
    ("redeemed_points", "redeemed"),
    ("burned_points", "burned"),
    ("clawed_back_points", "clawed back"),
    ("breakage_rate", "breakage"),
    ("warnings", "warnings"),
    ("warned_points", "warned"),
    ("redeemed_after_warning_points", "redeemed after warning"),
    ("reminder_conversion", "conversion"),
)


@dataclass
class Row:
    """Sums of one dimension (or validity group) over the report's windows."""

    dimension: str
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMED, 0))
    windows: int = 0

    def add(self, window: MetricsWindow) -> None:
        """Add one window's counters."""
        for name in SUMMED:
            self.totals[name] += int(getattr(window, name))
        self.windows += 1

    def merge(self, other: Row) -> None:
        """Add another row's sums."""
        for name in SUMMED:
            self.totals[name] += other.totals[name]
        self.windows += other.windows

    @property
    def breakage_rate(self) -> float | None:
        """Burned / accrued points; None without accruals."""
        accrued = self.totals["accrued_points"]
        return self.totals["burned_points"] / accrued if accrued else None

    @property
    def reminder_conversion(self) -> float | None:
        """Points redeemed from warned lots / warned points; None without warnings."""
        warned = self.totals["warned_points"]
        return self.totals["redeemed_after_warning_points"] / warned if warned else None

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (rates rounded to 4 digits)."""
        data: dict[str, Any] = {"dimension": self.dimension, **self.totals}
        data["breakage_rate"] = _round(self.breakage_rate)
        data["reminder_conversion"] = _round(self.reminder_conversion)
        return data


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class Report:
    """The report of one time range."""

    start: datetime
    end: datetime
    rows: list[Row]
    by_validity: list[Row]
    windows: int

    def as_dict(self) -> dict[str, Any]:
        """The whole report as plain data (the JSON format)."""
        return {
            "from": self.start.isoformat().replace("+00:00", "Z"),
            "to": self.end.isoformat().replace("+00:00", "Z"),
            "windows": self.windows,
            "rows": [row.as_dict() for row in self.rows],
            "by_validity": [row.as_dict() for row in self.by_validity],
        }


def _order(dimension: str) -> tuple[int, str]:
    return (0 if dimension == "all" else 1, dimension)


def build_report(
    windows: Iterable[MetricsWindow],
    start: datetime,
    end: datetime,
    rules: RulesFile | None = None,
) -> Report:
    """Sum the windows inside ``[start, end)`` per dimension; repeats (same event_id) once."""
    seen: set[str] = set()
    rows: dict[str, Row] = {}
    starts: set[datetime] = set()
    for window in windows:
        if window.event_id in seen or window.window_start < start or window.window_end > end:
            continue
        seen.add(window.event_id)
        starts.add(window.window_start)
        rows.setdefault(window.dimension, Row(window.dimension)).add(window)
    ordered = [rows[d] for d in sorted(rows, key=_order)]
    return Report(start, end, ordered, _by_validity(rows, rules), len(starts))


def _by_validity(rows: dict[str, Row], rules: RulesFile | None) -> list[Row]:
    if rules is None:
        return []
    groups: dict[str, Row] = {}
    for rule in rules.rules:
        row = rows.get(f"rule:{rule.id}")
        if row is not None:
            name = f"valid_for:{rule.valid_for}"
            groups.setdefault(name, Row(name)).merge(row)
    return [groups[name] for name in sorted(groups)]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


def render_table(report: Report) -> str:
    """An aligned text table (rates as percentages, ``-`` where undefined)."""
    lines = [f"bonus report {report.as_dict()['from']} .. {report.as_dict()['to']}"]
    lines.append(f"{report.windows} windows")
    for title, rows in (("", report.rows), ("by validity length", report.by_validity)):
        if not rows:
            continue
        if title:
            lines += ["", title]
        table = [[label for _, label in COLUMNS]]
        table += [[_cell(row.as_dict()[key]) for key, _ in COLUMNS] for row in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
        for r in table:
            cells = [r[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
            ]
            lines.append("  ".join(cells).rstrip())
    if not report.rows:
        lines.append("no metrics windows in this range")
    return "\n".join(lines) + "\n"


def render_csv(report: Report) -> str:
    """CSV: a header, then one line per dimension, then per validity group."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    keys = [key for key, _ in COLUMNS]
    writer.writerow(keys)
    for row in [*report.rows, *report.by_validity]:
        data = row.as_dict()
        writer.writerow(["" if data[k] is None else data[k] for k in keys])
    return out.getvalue()


def render_json(report: Report) -> str:
    """The report as one JSON document."""
    return json.dumps(report.as_dict(), indent=2) + "\n"


RENDER = {"table": render_table, "csv": render_csv, "json": render_json}


def read_windows(settings: Settings, timeout: float = 30.0) -> list[MetricsWindow]:
    """Every MetricsWindow on the topic now: from the beginning to the end offsets."""
    topic = topic_name(settings.topic_prefix, Topic.METRICS)
    config = settings.kafka_config(
        **{
            # A throwaway group that never commits: the report reads, it does not consume.
            "group.id": f"bonus-report-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    config.pop("partitioner", None)  # a producer property; a consumer warns about it
    consumer = Consumer(config)
    try:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise BonusError(f"topic {topic} not found")
        ends: dict[int, int] = {}
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout
            )
            if high > low:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        windows: list[MetricsWindow] = []
        while ends:
            message = consumer.poll(timeout)
            if message is None:
                raise BonusError(f"{topic}: no message within {timeout}s before the end offsets")
            if message.error() is not None:
                continue
            partition, offset = message.partition(), message.offset()
            # A message that is not a MetricsWindow (a foreign producer's) counts nothing.
            with contextlib.suppress(ValidationError):
                windows.append(MetricsWindow.model_validate_json(message.value() or b""))
            if (
                partition is not None
                and offset is not None
                and offset + 1 >= ends.get(partition, 0)
            ):
                ends.pop(partition, None)
        return windows
    finally:
        consumer.close()


def build_parser(prog: str = "bonus report") -> argparse.ArgumentParser:
    """The options of ``bonus report``."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Points accrued, redeemed, burned per rule and campaign."
    )
    parser.add_argument("--from", dest="start", required=True, help="RFC 3339, inclusive")
    parser.add_argument("--to", dest="end", required=True, help="RFC 3339, exclusive")
    parser.add_argument("--format", choices=sorted(RENDER), default="table")
    parser.add_argument("--rules", type=Path, help="rules file (default: BONUS_RULES_FILE)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for Kafka")
    return parser


def report_main(argv: Sequence[str] | None = None) -> int:
    """Run ``bonus report``; 0 on success, 2 on bad arguments or settings, 1 if Kafka fails."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        start, end = parse_time(args.start), parse_time(args.end)
    except ValueError as error:
        parser.error(f"--from/--to: {error}")
    if end <= start:
        parser.error("--to must be later than --from")
    try:
        settings = load_settings()
        path = args.rules or settings.rules_file
        rules = load_rules(path) if path is not None else None
    except (SettingsError, BonusError, OSError, ValueError) as error:
        sys.stderr.write(f"bonus report: {error}\n")
        return 2
    try:
        windows = read_windows(settings, args.timeout)
    except Exception as error:
        sys.stderr.write(f"bonus report: reading the metrics topic failed: {error}\n")
        return 1
    sys.stdout.write(RENDER[args.format](build_report(windows, start, end, rules)))
    return 0
