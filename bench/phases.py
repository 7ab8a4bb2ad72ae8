"""The Kafka-side phases: passthrough baseline, accrual throughput, latency, scale-out.

Wall time is measured with ``time.perf_counter``/``monotonic`` (durations of this process);
instants that are compared with Kafka timestamps come from the project's ``SystemClock``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.kafka_io import (
    OutputReader,
    consumer_config,
    customer_id,
    produce_purchases,
    producer,
    purchase,
    send,
)
from bench.namespace import Namespace
from bench.stats import latency, rate, window_rate
from bench.workers import Worker, WorkerError
from schemas import Topic
from streams.clock import SystemClock
from streams.settings import Settings

CLOCK = SystemClock()
ACCRUAL_RULES = """
timezone: Europe/Moscow
rules:
  - id: cashback-5
    event: purchase
    points: {percent: 5}
    valid_for: P14D
    warn_before: [P3D, P1D]
    limit: {max_points: 100000, per: P30D}
"""


@dataclass(frozen=True)
class Sizes:
    """How big each phase is; ``QUICK`` and ``FULL`` below."""

    partitions: int
    baseline_events: int
    accrual_events: int
    accrual_cap_s: float
    latency_rate: int
    latency_seconds: float
    latency_drain_s: float
    burst_lots: int
    burst_setup_budget_s: float
    burst_spread_s: float
    burst_lead_s: float
    burst_wait_after_s: float
    scale_events: int
    scale_cap_s: float


QUICK = Sizes(
    partitions=4,
    baseline_events=200_000,
    accrual_events=20_000,
    accrual_cap_s=20,
    latency_rate=5_000,
    latency_seconds=8,
    latency_drain_s=8,
    burst_lots=100_000,
    burst_setup_budget_s=75,
    burst_spread_s=10,
    burst_lead_s=20,
    burst_wait_after_s=30,
    scale_events=20_000,
    scale_cap_s=20,
)
FULL = Sizes(
    partitions=4,
    baseline_events=1_000_000,
    accrual_events=1_000_000,
    accrual_cap_s=300,
    latency_rate=5_000,
    latency_seconds=60,
    latency_drain_s=60,
    burst_lots=1_000_000,
    burst_setup_budget_s=900,
    burst_spread_s=60,
    burst_lead_s=30,
    burst_wait_after_s=120,
    scale_events=200_000,
    scale_cap_s=120,
)


def write_rules(workdir: Path, name: str, text: str) -> Path:
    """Write a rules file for the workers."""
    path = workdir / f"{name}.yaml"
    path.write_text(text)
    return path


def baseline(base: Settings, sizes: Sizes) -> dict[str, Any]:
    """A bare confluent-kafka consume-and-produce passthrough, purchases in, same bytes out."""
    ns = Namespace.new(base, "base", sizes.partitions)
    try:
        ns.create()
        source, sink = ns.topic(Topic.PURCHASES), ns.topic(Topic.ACCRUALS)
        started = time.perf_counter()
        size = produce_purchases(ns.settings, source, sizes.baseline_events, CLOCK.now())
        produced_s = time.perf_counter() - started
        consumer = Consumer(
            consumer_config(
                ns.settings, **{"group.id": ns.settings.consumer_group, "enable.auto.commit": False}
            )
        )
        consumer.assign(
            [TopicPartition(source, p, OFFSET_BEGINNING) for p in range(sizes.partitions)]
        )
        out = producer(ns.settings)
        count, first = 0, 0.0
        limit = time.monotonic() + 600
        while count < sizes.baseline_events and time.monotonic() < limit:
            messages = consumer.consume(1000, 1.0)
            if messages and not first:
                first = time.perf_counter()
            for message in messages:
                if message.error() is None:
                    send(out, sink, message.key() or b"", message.value() or b"")
                    count += 1
            out.poll(0)
        out.flush(60)
        seconds = time.perf_counter() - first
        consumer.close()
    finally:
        ns.delete()
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": round(rate(count, seconds), 1),
        "message_bytes": round(size, 1),
        "partitions": sizes.partitions,
        "input_produce_events_per_s": round(rate(sizes.baseline_events, produced_s), 1),
        "how": "one Python process: Consumer.consume(1000) -> Producer.produce (acks=all, "
        "idempotent), from the first message consumed to the final flush",
    }


NO_OUTPUT_S = 90.0


def _drive(
    workers: list[Worker], reader: OutputReader, target: int, cap_s: float
) -> tuple[int, bool]:
    """Wait until ``target`` outputs or ``cap_s`` after the first; (start ms, capped)."""
    for worker in workers:
        worker.wait_healthy()
    healthy_ms = CLOCK.now_ms()
    healthy = time.monotonic()
    opened: float | None = None
    while reader.count() < target:
        now = time.monotonic()
        if opened is None and reader.count() > 0:
            opened = now
        if opened is not None and now - opened >= cap_s:
            return healthy_ms, True
        if opened is None and now - healthy >= NO_OUTPUT_S:
            logs = ", ".join(str(w.log_path) for w in workers)
            raise WorkerError(f"no output {NO_OUTPUT_S:.0f} s after consuming began; see {logs}")
        for worker in workers:
            worker.healthy()  # raises if a worker died
        time.sleep(0.2)
    return healthy_ms, False


def throughput(
    base: Settings, sizes: Sizes, workdir: Path, *, workers: int, events: int, cap_s: float
) -> dict[str, Any]:
    """Purchases per second through ``workers`` real workers, input produced beforehand."""
    ns = Namespace.new(base, f"w{workers}", sizes.partitions)
    rules = write_rules(workdir, ns.settings.consumer_group, ACCRUAL_RULES)
    running: list[Worker] = []
    reader = OutputReader(ns.settings, ns.topic(Topic.ACCRUALS), sizes.partitions)
    try:
        ns.create()
        size = produce_purchases(ns.settings, ns.topic(Topic.PURCHASES), events, CLOCK.now())
        reader.start()
        running = [Worker.start(ns, rules, workdir) for _ in range(workers)]
        healthy_ms, capped = _drive(running, reader, events, cap_s)
        rss = [w.peak_rss_bytes() or 0 for w in running]
    finally:
        reader.stop()
        for worker in running:
            worker.stop()
        ns.delete()
    stamps, _ = reader.snapshot()
    # With several workers, count from the moment all were consuming (after the rebalance).
    events_per_s, counted = window_rate(stamps, healthy_ms if workers > 1 else None)
    result: dict[str, Any] = {
        "workers": workers,
        "partitions": sizes.partitions,
        "inputs": events,
        "outputs": len(stamps),
        "measured_events": counted,
        "events_per_s": round(events_per_s, 1),
        "stopped_by_cap": capped,
        "cap_s": cap_s,
        "message_bytes": round(size, 1),
        "peak_rss_mib": round(max(rss) / 2**20, 1) if rss else None,
    }
    if stamps:
        result["healthy_to_last_output_s"] = round((max(stamps) - healthy_ms) / 1000, 3)
    if capped:
        result["note"] = (
            f"stopped after {cap_s:.0f} s; measured over {counted:,} of {events:,} events"
        )
    return result


def _source_index(value: bytes) -> int | None:
    try:
        return int(str(json.loads(value)["source_event_id"]).rsplit("-", 1)[1])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def latency_phase(base: Settings, sizes: Sizes, workdir: Path) -> dict[str, Any]:
    """Input produce time to BonusAccrued's Kafka timestamp at a fixed input rate."""
    ns = Namespace.new(base, "lat", sizes.partitions)
    rules = write_rules(workdir, ns.settings.consumer_group, ACCRUAL_RULES)
    worker: Worker | None = None
    reader = OutputReader(
        ns.settings, ns.topic(Topic.ACCRUALS), sizes.partitions, parse=_source_index
    )
    produced: dict[int, int] = {}
    try:
        ns.create()
        worker = Worker.start(ns, rules, workdir)
        worker.wait_healthy()
        reader.start()
        p = producer(ns.settings)
        topic, run = ns.topic(Topic.PURCHASES), uuid.uuid4().hex[:8]
        started = time.perf_counter()
        i = 0
        while (elapsed := time.perf_counter() - started) < sizes.latency_seconds:
            while i < int(elapsed * sizes.latency_rate):
                now = CLOCK.now()
                customer = customer_id(i * 7919 % 100_000)
                stamp = CLOCK.now_ms()
                value = purchase(f"lat-{run}-{i}", customer, 2_000 + i % 500_000, now)
                send(p, topic, customer.encode(), value, stamp)
                produced[i] = stamp
                i += 1
            p.poll(0)
            time.sleep(0.002)
        sent_s = time.perf_counter() - started
        p.flush(30)
        give_up = time.monotonic() + sizes.latency_drain_s
        while len(reader.snapshot()[1]) < len(produced) and time.monotonic() < give_up:
            worker.healthy()
            time.sleep(0.2)
        stopped_ms = CLOCK.now_ms()
        rss = worker.peak_rss_bytes()
    finally:
        reader.stop()
        if worker is not None:
            worker.stop()
        ns.delete()
    summary = latency(produced, dict(reader.snapshot()[1]), stopped_ms)
    result: dict[str, Any] = {
        "target_rate": sizes.latency_rate,
        "input_rate": round(rate(len(produced), sent_s), 1),
        "produce_seconds": sizes.latency_seconds,
        **summary.as_dict(),
        "kept_up": summary.complete,
        "peak_rss_mib": round(rss / 2**20, 1) if rss else None,
    }
    if not summary.complete:
        result["note"] = (
            f"could not keep up: {summary.outputs:,} of {summary.inputs:,} outputs arrived within "
            f"{sizes.latency_drain_s:.0f} s after the last input; the missing ones count with "
            "the time they had waited, so the percentiles are lower bounds"
        )
    return result
