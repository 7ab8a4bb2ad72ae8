"""Profile one worker under the accrual load: where the time of the throughput phase goes.

``python -m bench.profile [--events N] [--seconds S]`` produces N purchases into a fresh
namespace, starts one ``bonus worker`` on it, samples it with py-spy (a dev dependency) for S
seconds while it works, and prints the functions with the largest share of the samples
(inclusive and self), the worker's and Redis' CPU, and Redis' busiest commands over the same
seconds. The raw py-spy stacks stay in ``.local/bench/`` for a flame graph.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.kafka_io import OutputReader, produce_purchases
from bench.machine import ROOT
from bench.namespace import Namespace
from bench.phases import ACCRUAL_RULES, CLOCK, write_rules
from bench.workers import Worker, stop_all
from schemas import Topic
from streams.redis_clients import sync_redis
from streams.settings import load_settings

log = logging.getLogger("bench")
_FRAME = re.compile(r"(.*) \((.*?):\d+\)")


def _frame(raw: str) -> str:
    match = _FRAME.match(raw)
    if not match:
        return raw
    path = match.group(2).split("site-packages/")[-1]
    return f"{match.group(1)} ({path.replace(str(ROOT) + '/', '')})"


def summarize(collapsed: str, top: int) -> list[str]:
    """The ``top`` functions by inclusive and by self share of py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        own[frames[-1]] += n
    if not total:
        return ["no samples"]
    lines = [f"{total} samples; inclusive:"]
    lines += [f"  {100 * v / total:5.1f}%  {k}" for k, v in inclusive.most_common(top)]
    lines.append("self:")
    lines += [f"  {100 * v / total:5.1f}%  {k}" for k, v in own.most_common(top // 2)]
    return lines


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / 100  # USER_HZ is 100 on Linux


def _redis_figures(before: dict[str, Any], after: dict[str, Any], seconds: float) -> list[str]:
    cpu = sum(float(after[k]) - float(before[k]) for k in ("used_cpu_user", "used_cpu_sys"))
    lines = [f"redis cpu {100 * cpu / seconds:.0f}% (the server, every client of it)"]
    rows = []
    for key, stats in after.items():
        if key.startswith("cmdstat_") and isinstance(stats, dict):
            old = before.get(key, {"usec": 0, "calls": 0})
            calls = int(stats["calls"]) - int(old["calls"])
            usec = int(stats["usec"]) - int(old["usec"])
            if calls:
                rows.append((usec, calls, key.removeprefix("cmdstat_")))
    for usec, calls, name in sorted(rows, reverse=True)[:6]:
        lines.append(
            f"  {name:12s} {calls / seconds:9.0f}/s  {usec / calls:7.1f} us/call  "
            f"busy {100 * usec / 1e6 / seconds:4.1f}%"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Profile a worker; 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench %(message)s")
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        raise SystemExit("py-spy is not installed: make install (it is a dev dependency)")
    workdir = ROOT / ".local" / "bench" / f"profile-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(parents=True)
    settings = load_settings()
    ns = Namespace.new(settings, "prof", 4)
    rules = write_rules(workdir, ns.settings.consumer_group, ACCRUAL_RULES)
    reader = OutputReader(ns.settings, ns.topic(Topic.ACCRUALS), 4)
    redis = sync_redis(settings)
    try:
        ns.create()
        produce_purchases(ns.settings, ns.topic(Topic.PURCHASES), args.events, CLOCK.now())
        reader.start()
        worker = Worker.start(ns, rules, workdir)
        worker.wait_healthy()
        raw = workdir / "worker.collapsed"
        before = {**redis.info("cpu"), **redis.info("commandstats")}
        cpu_before, count_before = _cpu_seconds(worker.process.pid), reader.count()
        started = time.monotonic()
        pid, duration = str(worker.process.pid), str(args.seconds)
        subprocess.run(  # noqa: S603 - py-spy from our own venv, fixed arguments
            [
                spy,
                "record",
                "-p",
                pid,
                "-d",
                duration,
                "-f",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
            ],
            check=True,
            capture_output=True,
        )
        seconds = time.monotonic() - started
        cpu = _cpu_seconds(worker.process.pid) - cpu_before
        outputs = reader.count() - count_before
        after = {**redis.info("cpu"), **redis.info("commandstats")}
        worker.stop()
    finally:
        reader.stop()
        stop_all()
        ns.delete()
        redis.close()
    lines = [
        f"{outputs} outputs in {seconds:.1f} s: {outputs / seconds:.0f} events/s while sampled",
        f"worker cpu {100 * cpu / seconds:.0f}% of one core, "
        f"{1e6 * cpu / max(outputs, 1):.0f} us of CPU per event",
        *_redis_figures(before, after, seconds),
        *summarize(raw.read_text(), args.top),
        f"raw stacks: {raw.relative_to(ROOT)}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
