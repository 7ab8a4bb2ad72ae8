"""Run every phase in order, write ``bench-results.json`` and print the table.

A phase that fails is recorded (its section stays empty, a note says why) and the others still
run; the exit status is 1 then. Targets that FAIL are findings, not errors: exit status 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from bench.burst import burst_phase
from bench.machine import ROOT, describe, load_average
from bench.phases import FULL, QUICK, Sizes, baseline, latency_phase, throughput
from bench.report import Figures, document, table, targets
from bench.workers import stop_all
from streams.settings import load_settings

log = logging.getLogger("bench")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short version (~3 min)")
    parser.add_argument("--output", type=Path, default=Path("bench-results.json"))
    return parser.parse_args(argv)


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _figures(sections: dict[str, dict[str, Any]]) -> Figures:
    accrual, base = sections.get("accrual", {}), sections.get("baseline", {})
    lat, burst, memory = (sections.get(k, {}) for k in ("latency", "timer_burst", "memory"))
    return Figures(
        accrual_rate=accrual.get("events_per_s"),
        baseline_rate=base.get("events_per_s"),
        p99_ms=lat.get("p99_ms"),
        latency_complete=bool(lat.get("complete", False)),
        burst_lots=int(burst.get("lots", 0)),
        burst_all_burned=bool(burst.get("all_burned", False)),
        burst_max_lag_s=burst.get("burn_lag_max_s"),
        bytes_per_lot=memory.get("bytes_per_lot"),
        memory_lots=int(memory.get("lots", 0)),
    )


def _phases(sizes: Sizes, workdir: Path) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    base = load_settings()
    return [
        ("baseline", lambda: baseline(base, sizes)),
        (
            "accrual",
            lambda: throughput(
                base,
                sizes,
                workdir,
                workers=1,
                events=sizes.accrual_events,
                cap_s=sizes.accrual_cap_s,
            ),
        ),
        ("latency", lambda: latency_phase(base, sizes, workdir)),
        ("timer_burst", lambda: _burst(base, sizes, workdir)),
        (
            "scale_out",
            lambda: throughput(
                base, sizes, workdir, workers=2, events=sizes.scale_events, cap_s=sizes.scale_cap_s
            ),
        ),
    ]


_MEMORY: dict[str, Any] = {}


def _burst(base: Any, sizes: Sizes, workdir: Path) -> dict[str, Any]:
    burst, memory = burst_phase(base, sizes, workdir)
    _MEMORY.update(memory)
    return burst


def _scale_out(sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    one, two = sections.get("accrual", {}), sections.get("scale_out", {})
    if not two:
        return {}
    one_rate, two_rate = one.get("events_per_s"), two.get("events_per_s")
    return {
        "partitions": two.get("partitions"),
        "one_worker_events_per_s": one_rate,
        "two_workers_events_per_s": two_rate,
        "speedup": round(two_rate / one_rate, 2) if one_rate and two_rate else None,
        "one_worker": "the accrual phase (same 4-partition topics and inputs)",
        "two_workers": two,
        "note": "2 cores host both workers, Kafka, Redis and this benchmark: a second worker "
        "competes for the same CPUs, so this is not what 2 workers on 2 machines would do",
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every phase produced figures."""
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench %(message)s")
    signal.signal(signal.SIGTERM, _interrupted)
    sizes = QUICK if args.quick else FULL
    settings = load_settings()
    machine = describe(settings)
    sections: dict[str, dict[str, Any]] = {}
    notes: list[str] = [
        "figures are noisy: other jobs share this machine (see the load averages)",
        "wall time from time.perf_counter/monotonic; Kafka timestamps vs the project's "
        "SystemClock for latencies",
    ]
    failed = False
    started = time.perf_counter()
    try:
        workdir = ROOT / ".local" / "bench" / f"run-{uuid.uuid4().hex[:8]}"
        workdir.mkdir(parents=True)
        notes.append(f"worker logs and rules files: {workdir.relative_to(ROOT)}")
        for name, phase in _phases(sizes, workdir):
            log.info("phase %s", name)
            try:
                sections[name] = phase()
            except Exception as error:
                failed = True
                notes.append(f"phase {name} failed: {error!r}")
                log.error("phase %s failed:\n%s", name, traceback.format_exc())
            finally:
                stop_all()
            log.info("phase %s done: %s", name, json.dumps(sections.get(name), default=str))
    except KeyboardInterrupt:
        notes.append("interrupted: the figures are those of the phases that finished")
        failed = True
    finally:
        stop_all()
    sections["memory"] = dict(_MEMORY)
    sections["scale_out"] = _scale_out(sections)
    rss = [
        s.get("peak_rss_mib")
        for s in (
            sections.get("accrual", {}),
            sections.get("latency", {}),
            sections.get("timer_burst", {}),
            sections["scale_out"].get("two_workers", {}),
        )
    ]
    if sections["memory"]:
        sections["memory"]["worker_peak_rss_mib"] = max((r for r in rss if r), default=None)
    machine["load_average_end"] = load_average()
    machine["bench_seconds"] = round(time.perf_counter() - started, 1)
    for name in ("accrual", "latency", "timer_burst", "scale_out"):
        for key in ("note", "burn_note"):
            if sections.get(name, {}).get(key):
                notes.append(f"{name}: {sections[name][key]}")
    doc = document(
        mode="quick" if args.quick else "full",
        machine=machine,
        sections=sections,
        judged=targets(_figures(sections)),
        notes=notes,
    )
    args.output.write_text(json.dumps(doc, indent=2) + "\n")
    sys.stdout.write(table(doc) + "\n")
    sys.stdout.write(f"\nwrote {args.output}\n")
    return 1 if failed else 0
