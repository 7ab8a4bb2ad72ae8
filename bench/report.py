"""Pure parts of the report: the targets of issue 7, the results document and the table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1
FULL_BURST_LOTS = 1_000_000
MIN_ACCRUAL_RATE = 20_000.0
MIN_BASELINE_SHARE = 0.5
MAX_P99_MS = 50.0
MAX_BURN_LAG_S = 60.0
MAX_BYTES_PER_LOT = 150.0
SECTIONS = ("baseline", "accrual", "latency", "timer_burst", "memory", "scale_out")


@dataclass(frozen=True)
class Target:
    """One target of issue 7 and whether this run met it (a missing figure never passes)."""

    name: str
    value: float | None
    unit: str
    target: str
    passed: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: ``{name, value, unit, target, pass, note}``."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "pass": self.passed,
            "note": self.note,
        }


@dataclass(frozen=True)
class Figures:
    """The figures the targets judge; None where a phase did not produce one."""

    accrual_rate: float | None
    baseline_rate: float | None
    p99_ms: float | None
    latency_complete: bool
    burst_lots: int
    burst_all_burned: bool
    burst_max_lag_s: float | None
    bytes_per_lot: float | None
    memory_lots: int


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def targets(f: Figures) -> list[Target]:
    """The targets of issue 7, judged on ``f``."""
    share = None
    if f.accrual_rate is not None and f.baseline_rate and _known(f.accrual_rate):
        share = round(f.accrual_rate / f.baseline_rate, 4)
    burst_note = []
    if f.burst_lots < FULL_BURST_LOTS:
        burst_note.append(f"only {f.burst_lots:,} lots were used, not {FULL_BURST_LOTS:,}")
    if not f.burst_all_burned:
        burst_note.append("not every lot had burned when the measurement stopped")
    lag_ok = f.burst_max_lag_s is not None and f.burst_max_lag_s <= MAX_BURN_LAG_S
    return [
        Target(
            "accrual throughput / passthrough baseline",
            share,
            "ratio",
            f">= {MIN_BASELINE_SHARE}",
            share is not None and share >= MIN_BASELINE_SHARE,
        ),
        Target(
            "accrual throughput",
            f.accrual_rate,
            "events/s",
            f">= {MIN_ACCRUAL_RATE:.0f}",
            _known(f.accrual_rate) and (f.accrual_rate or 0) >= MIN_ACCRUAL_RATE,
        ),
        Target(
            "p99 latency at 5,000 events/s",
            f.p99_ms,
            "ms",
            f"<= {MAX_P99_MS:.0f}",
            _known(f.p99_ms) and (f.p99_ms or 0) <= MAX_P99_MS,
            "" if f.latency_complete else "the worker could not keep up: a lower bound",
        ),
        Target(
            "max burn lag, 1,000,000 lots expiring in one minute",
            f.burst_max_lag_s,
            "s",
            f"<= {MAX_BURN_LAG_S:.0f} with every lot burned",
            f.burst_lots >= FULL_BURST_LOTS and f.burst_all_burned and lag_ok,
            "; ".join(burst_note),
        ),
        Target(
            "Redis memory per outstanding lot",
            f.bytes_per_lot,
            "bytes",
            f"<= {MAX_BYTES_PER_LOT:.0f}",
            _known(f.bytes_per_lot) and (f.bytes_per_lot or 0) <= MAX_BYTES_PER_LOT,
            "" if f.memory_lots >= FULL_BURST_LOTS else f"measured at {f.memory_lots:,} lots",
        ),
    ]


def document(
    *,
    mode: str,
    machine: dict[str, Any],
    sections: dict[str, dict[str, Any]],
    judged: list[Target],
    notes: list[str],
) -> dict[str, Any]:
    """The ``bench-results.json`` document: machine, every section (empty if it failed), targets."""
    return {
        "schema": SCHEMA_VERSION,
        "mode": mode,
        "machine": machine,
        **{name: sections.get(name, {}) for name in SECTIONS},
        "targets": [t.as_dict() for t in judged],
        "notes": notes,
    }


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def table(doc: dict[str, Any]) -> str:
    """The printed table: every scalar figure by section, then the targets with PASS/FAIL."""
    machine = doc["machine"]
    lines = [
        f"bench ({doc['mode']}) on {machine.get('cores')} cores, "
        f"{_number(machine.get('memory_gib'))} GiB, Python {machine.get('python')}, "
        f"Kafka {machine.get('kafka')}, Redis {machine.get('redis')}; load average "
        f"{machine.get('load_average_start')} -> {machine.get('load_average_end')}",
        "",
    ]
    width = max(
        [len(k) for name in SECTIONS for k in doc.get(name, {}) if _scalar(doc[name][k])] + [10]
    )
    for name in SECTIONS:
        section = doc.get(name) or {}
        lines.append(f"[{name}]" + ("" if section else " (no figures: the phase failed)"))
        for key, value in section.items():
            if _scalar(value):
                lines.append(f"  {key:<{width}}  {_number(value)}")
    lines.append("")
    lines.append("targets")
    for t in doc["targets"]:
        verdict = "PASS" if t["pass"] else "FAIL"
        note = f"  ({t['note']})" if t["note"] else ""
        lines.append(
            f"  {verdict}  {t['name']}: {_number(t['value'])} {t['unit']} "
            f"(target {t['target']}){note}"
        )
    if doc["notes"]:
        lines.append("")
        lines.append("notes")
        lines.extend(f"  - {n}" for n in doc["notes"])
    return "\n".join(lines)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (int, float, str, bool))
