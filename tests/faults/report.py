"""The suite's report: one JSON file (``faults-report.json``) and a table on the terminal."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import redis

from tests.faults.services import Services

COLUMNS = (
    ("scenario", "name", 15),
    ("fsync", "fsync", 9),
    ("in", "events_in", 6),
    ("expected", "expected_effects", 9),
    ("observed", "observed_effects", 9),
    ("lost", "lost", 5),
    ("dup.eff", "duplicated_effects", 8),
    ("dup.msg", "duplicate_messages", 8),
    ("identical", "duplicates_identical", 10),
    ("faults", "faults", 7),
    ("secs", "seconds", 6),
    ("ok", "ok", 4),
)


def machine(services: Services) -> dict[str, Any]:
    """What the numbers were measured on."""
    with redis.Redis.from_url(services.redis_url(services.redis_always)) as client:
        info = client.info("server")
    sys_name, _, release, _, arch, _ = platform.uname()
    return {
        "system": f"{sys_name} {release} {arch}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "redis": str(info.get("redis_version")),
        "kafka": _kafka_version(),
    }


def _kafka_version() -> str:
    from local_kafka import kafka_version  # noqa: PLC0415 - deploy/local is on sys.path now

    return kafka_version()


def table(scenarios: list[dict[str, Any]]) -> str:
    """One line per scenario, the columns above."""
    lines = ["  ".join(title.ljust(width) for title, _, width in COLUMNS)]
    for entry in scenarios:
        row = {**entry, "seconds": entry["timings_s"]["total"]}
        cells = []
        for _, name, width in COLUMNS:
            value = row[name]
            text = ("yes" if value else "NO") if isinstance(value, bool) else str(value)
            cells.append(text.ljust(width))
        lines.append("  ".join(cells))
    return "\n".join(lines)


def write(path: Path, report: dict[str, Any]) -> None:
    """Write the JSON report."""
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
