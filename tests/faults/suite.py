"""Run a list of scenarios on the suite's services and assemble the report."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.faults.report import machine, table, write
from tests.faults.scenarios import FULL, SCENARIOS, SHORT, execute
from tests.faults.services import HOME, services

Echo = Callable[[str], None]


def failed_entry(name: str, title: str, error: str) -> dict[str, Any]:
    """The report entry of a scenario that could not run to its end."""
    return {
        "name": name,
        "title": title,
        "fsync": "-",
        "events_in": 0,
        "expected_effects": 0,
        "observed_effects": 0,
        "lost": "?",
        "duplicated_effects": "?",
        "duplicate_messages": "?",
        "duplicates_identical": False,
        "faults": 0,
        "timings_s": {"total": 0},
        "error": error[:4000],
        "ok": False,
    }


def run_suite(
    *,
    short: bool,
    seed_value: int,
    only: list[str] | None,
    report_path: Path,
    keep_services: bool = False,
    echo: Echo | None = None,
) -> dict[str, Any]:
    """Run the scenarios (``only`` those named), write the report, return it."""
    say: Echo = echo or (lambda _: None)
    chosen = [s for s in SCENARIOS if not only or s.name in only]
    unknown = set(only or ()) - {s.name for s in SCENARIOS}
    if unknown:
        raise ValueError(
            f"unknown scenario(s) {sorted(unknown)}; known: {[s.name for s in SCENARIOS]}"
        )
    size = SHORT if short else FULL
    svc = services()
    workdir = HOME / "runs"
    shutil.rmtree(workdir, ignore_errors=True)
    began = time.monotonic()
    say(f"fault suite ({'short' if short else 'full'}, seed {seed_value}): starting services")
    svc.up()
    entries: list[dict[str, Any]] = []
    try:
        for scenario in chosen:
            say(f"- {scenario.name}: {scenario.title}")
            try:
                entry = execute(scenario, svc, size, seed_value, workdir)
            except Exception as error:  # one broken scenario must not hide the others
                entry = failed_entry(scenario.name, scenario.title, repr(error))
            say(
                f"  {'ok' if entry['ok'] else 'FAILED'}: lost {entry['lost']}, duplicated "
                f"{entry['duplicated_effects']}, {entry['timings_s']['total']} s"
            )
            entries.append(entry)
        report: dict[str, Any] = {
            "form": "short" if short else "full",
            "seed": seed_value,
            "finished_at": datetime.now(UTC).isoformat(),
            "machine": machine(svc),
            "seconds": round(time.monotonic() - began, 1),
            "ok": all(e["ok"] for e in entries),
            "scenarios": entries,
        }
    finally:
        if not keep_services:
            svc.down()
    write(report_path, report)
    say(table(entries))
    say(f"report: {report_path}  ({'all ok' if report['ok'] else 'FAILURES'})")
    return report
