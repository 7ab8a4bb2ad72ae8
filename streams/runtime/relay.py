"""The outbox relay: publish a shard's outbox to the output topics, then trim what was delivered.

Per owned shard: read the oldest entries, render each into its output event, produce them all
(keyed by customer id, CloudEvents headers), wait for every delivery, trim up to the last one.
A crash between delivery and trim repeats the relay of those entries with the same event ids,
which consumers drop: delivery is at least once, the state change behind it exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas import topic_name
from streams.clock import Clock, SystemClock
from streams.failpoints import RELAY_AFTER_PRODUCE, Failpoints
from streams.ledger import Ledger, OutboxEntry, render
from streams.ledger.codec import pairs
from streams.runtime.metrics import Metrics
from streams.runtime.producer import AsyncProducer, outgoing_event

log = logging.getLogger(__name__)

BATCH = 500
IDLE_SECONDS = 0.2  # real seconds between outbox polls of an idle shard, unless woken


def origin_label(data: dict[str, Any]) -> str:
    """The rule id of an entry's lot, or ``campaign:<id>`` (metrics label, never a customer)."""
    if data.get("rule"):
        return str(data["rule"])
    return f"campaign:{data.get('camp')}"


def count_entry(metrics: Metrics, entry: OutboxEntry) -> None:
    """Count the points and warnings an entry publishes."""
    counts = EntryCounts()
    counts.add(entry)
    counts.publish(metrics)


@dataclass
class EntryCounts:
    """The metrics of a relayed batch, summed first: one ``inc`` per label set, not per entry."""

    points: Counter[tuple[str, str]] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    relayed: Counter[str] = field(default_factory=Counter)

    def add(self, entry: OutboxEntry) -> None:
        """Count one entry."""
        data = entry.data
        self.relayed[entry.type] += 1
        if entry.type in ("accrued", "burned", "clawed_back"):
            self.points[(entry.type, origin_label(data))] += int(data["pts"])
        elif entry.type == "redemption" and data.get("status") == "accepted":
            for lot in pairs(data.get("lots")):
                self.points[("redeemed", origin_label(lot))] += int(lot["pts"])
        elif entry.type == "warning":
            self.warnings[str(data["lead"])] += 1

    def publish(self, metrics: Metrics) -> None:
        """Add the sums to the metrics."""
        for (kind, origin), points in self.points.items():
            metrics.points.labels(kind, origin).inc(points)
        for lead, count in self.warnings.items():
            metrics.warnings_sent.labels(lead).inc(count)
        for kind, count in self.relayed.items():
            metrics.relayed.labels(kind).inc(count)


def _event_time(event: Any, default: datetime) -> datetime:
    # The time the fact became true, so that a repeated relay sends the same ce_time.
    for name in ("updated_at", "expired_at", "issued_at"):
        value = getattr(event, name, None)
        if isinstance(value, datetime):
            return value
    return default


@dataclass
class Relay:
    """Relays the outboxes of the shards it is asked to run."""

    ledger: Ledger
    producer: AsyncProducer
    clock: Clock
    metrics: Metrics
    topic_prefix: str
    batch: int = BATCH
    idle_seconds: float = IDLE_SECONDS
    # Outbox stream ids carry Redis' real clock, so their age is measured in real time.
    real_clock: Clock = field(default_factory=SystemClock)
    failpoints: Failpoints | None = None  # test-only (streams.failpoints)
    _wakeups: dict[int, asyncio.Event] = field(default_factory=dict)

    def notify(self, shard: int | None) -> None:
        """Something was written to ``shard``'s outbox (None: to any shard): relay soon."""
        targets: Iterable[asyncio.Event] = (
            self._wakeups.values() if shard is None else [self._wakeups.get(shard, asyncio.Event())]
        )
        for event in targets:
            event.set()

    async def relay_once(self, shard: int) -> int:
        """Relay up to ``batch`` entries of ``shard``; return how many were delivered."""
        entries = await self.ledger.read_outbox(shard, self.batch)
        if not entries:
            self.metrics.outbox_backlog.labels(str(shard)).set(0)
            return 0
        now = self.clock.now()
        messages = []
        for entry in entries:
            topic, key, event = render(entry)
            messages.append(
                outgoing_event(
                    topic_name(self.topic_prefix, topic),
                    key,
                    event,
                    event_type=str(getattr(event, "type", entry.type)),
                    time=_event_time(event, now),
                )
            )
        # One future for the batch: trimmed only when Kafka has every entry.
        await self.producer.send_all(messages)
        if self.failpoints is not None:
            self.failpoints.crash(RELAY_AFTER_PRODUCE)
        await self.ledger.trim_outbox(shard, entries[-1].id)
        oldest_ms = int(entries[0].id.split("-", 1)[0])
        lag = max(0.0, (self.real_clock.now_ms() - oldest_ms) / 1000)
        self.metrics.relay_lag_seconds.labels(str(shard)).set(lag)
        self.metrics.batch_size.labels("relay").observe(len(entries))
        counts = EntryCounts()
        for entry in entries:
            counts.add(entry)
        counts.publish(self.metrics)
        backlog = await self.ledger.client.xlen(self.ledger.keys(shard).outbox)
        self.metrics.outbox_backlog.labels(str(shard)).set(backlog)
        return len(entries)

    async def run(self, shard: int) -> None:
        """Relay ``shard`` until cancelled; idle shards are polled, or woken by ``notify``."""
        wakeup = self._wakeups.setdefault(shard, asyncio.Event())
        try:
            while True:
                wakeup.clear()
                if await self.relay_once(shard) >= self.batch:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self.idle_seconds)
        finally:
            self._wakeups.pop(shard, None)
