"""Raw confluent-kafka input and output for the benchmark: fast producing, reading outputs.

Inputs are Purchase JSON produced with librdkafka directly (``murmur2_random``, the Java
partitioner the ledger shards by, idempotent, ``acks=all``), not through ``BonusProducer``,
whose per-event validation would make the producer, not the worker, the bottleneck.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, Message, Producer

from streams.settings import Settings

CUSTOMERS = 100_000


def iso(moment: datetime) -> str:
    """RFC 3339 with milliseconds and ``Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def purchase(event_id: str, customer: str, cents: int, at: datetime) -> bytes:
    """A Purchase payload of ordinary size (about 200 bytes)."""
    return json.dumps(
        {
            "event_id": event_id,
            "occurred_at": iso(at),
            "customer_id": customer,
            "order_id": f"o-{event_id}",
            "amount": f"{cents // 100}.{cents % 100:02d}",
            "currency": "RUB",
            "channel": "pos",
            "store_id": f"S{cents % 400:03d}",
        },
        separators=(",", ":"),
    ).encode()


def customer_id(i: int) -> str:
    """A customer id of ordinary length (16 characters)."""
    return f"customer-{i:07d}"


def producer(settings: Settings) -> Producer:
    """A producer tuned for bulk input, with the project's partitioner."""
    return Producer(
        settings.kafka_config(
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "batch.size": 1_000_000,
                "queue.buffering.max.messages": 500_000,
                "client.id": "bench-input",
            }
        )
    )


def consumer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """The project's librdkafka config for a consumer (without the producer-only partitioner)."""
    config = settings.kafka_config(**extra)
    config.pop("partitioner", None)
    return config


def send(p: Producer, topic: str, key: bytes, value: bytes, timestamp_ms: int = 0) -> None:
    """Produce one message, waiting for room when the local queue is full."""
    while True:
        try:
            p.produce(topic, value, key, timestamp=timestamp_ms)
            return
        except BufferError:
            p.poll(0.05)


def produce_purchases(
    settings: Settings, topic: str, count: int, at: datetime, prefix: str = "p"
) -> float:
    """Produce ``count`` purchases at service time ``at``; the mean value size in bytes."""
    rng = random.Random(7)  # noqa: S311 - reproducible load, not security
    run = uuid.uuid4().hex[:8]
    p = producer(settings)
    size = 0
    for i in range(count):
        customer = customer_id(rng.randrange(CUSTOMERS))
        value = purchase(f"{prefix}-{run}-{i}", customer, rng.randrange(2_000, 600_000), at)
        size += len(value)
        send(p, topic, customer.encode(), value)
        if i % 10_000 == 0:
            p.poll(0)
    if p.flush(120) != 0:
        raise RuntimeError("inputs not delivered in 120 s")
    return size / max(count, 1)


@dataclass
class OutputReader:
    """Reads one topic from the beginning in a thread: Kafka timestamps, and ``parse`` results."""

    settings: Settings
    topic: str
    partitions: int
    parse: Callable[[bytes], int | None] | None = None
    timestamps_ms: list[int] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        """Start reading."""
        # Subscribing (a fresh group, from the earliest offset) rather than assigning waits for
        # the new topic's metadata instead of racing its creation.
        consumer = Consumer(
            consumer_config(
                self.settings,
                **{
                    "group.id": f"bench-read-{uuid.uuid4().hex[:8]}",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                    "client.id": "bench-reader",
                    "topic.metadata.refresh.interval.ms": 1000,
                },
            )
        )
        consumer.subscribe([self.topic])

        def read() -> None:
            try:
                while not self._stop.is_set():
                    self._take(consumer.consume(2000, 0.2))
            finally:
                consumer.close()

        self._thread = threading.Thread(target=read, name="bench-reader", daemon=True)
        self._thread.start()

    def _take(self, messages: list[Message]) -> None:
        stamps: list[int] = []
        parsed: list[tuple[int, int]] = []
        for message in messages:
            if message.error() is not None:
                continue
            stamp = message.timestamp()[1]
            stamps.append(stamp)
            if self.parse is not None:
                index = self.parse(message.value() or b"")
                if index is not None:
                    parsed.append((index, stamp))
        with self._lock:
            self.timestamps_ms.extend(stamps)
            self.pairs.extend(parsed)

    def count(self) -> int:
        """Messages read so far."""
        with self._lock:
            return len(self.timestamps_ms)

    def snapshot(self) -> tuple[list[int], list[tuple[int, int]]]:
        """Copies of the timestamps and the (parsed value, timestamp) pairs read so far."""
        with self._lock:
            return list(self.timestamps_ms), list(self.pairs)

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
