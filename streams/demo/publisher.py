"""Publishes the demo's messages like a point-of-sale system would: keyed by customer, with
Kafka's Java partitioner, idempotent and fully acknowledged, every delivery accounted for.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from schemas import topic_name
from streams.demo.traffic import Outgoing
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Deliveries:
    """What the broker confirmed, by message kind, and what it refused."""

    delivered: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    last_error: str | None = None

    @property
    def total(self) -> int:
        """Messages the broker has acknowledged."""
        return sum(self.delivered.values())


class Publisher:
    """An idempotent ``acks=all`` producer of demo messages; ``close`` flushes."""

    def __init__(self, settings: Settings, *, client_id: str = "bonus-demo") -> None:
        self._settings = settings
        self._client_id = client_id
        self._producer: Producer | None = None
        self.deliveries = Deliveries()
        self.sent = 0

    def start(self) -> None:
        """Create the producer (no network before this)."""
        config: dict[str, Any] = self._settings.kafka_config(
            **{
                "client.id": self._client_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
            }
        )
        self._producer = Producer(config)

    def publish(self, message: Outgoing) -> None:
        """Queue ``message`` on its topic, keyed by its customer; deliveries come via ``poll``."""
        producer = self._require()
        topic = topic_name(self._settings.topic_prefix, message.topic)
        kind = message.kind
        headers: list[tuple[str, str | bytes | None]] = list(message.headers())

        def delivered(error: KafkaError | None, _: Message) -> None:
            if error is None:
                self.deliveries.delivered[kind] += 1
            else:
                self.deliveries.failed += 1
                self.deliveries.last_error = str(error)
                log.error("delivery of %s to %s failed: %s", message.event_id, topic, error)

        while True:
            try:
                producer.produce(
                    topic,
                    key=message.key.encode(),
                    value=message.value,
                    headers=headers,
                    on_delivery=delivered,
                )
                break
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                producer.poll(0.1)
        self.sent += 1
        producer.poll(0)

    def poll(self) -> None:
        """Serve delivery reports that have arrived."""
        if self._producer is not None:
            self._producer.poll(0)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; return how many are still not confirmed."""
        if self._producer is None:
            return 0
        remaining: int = self._producer.flush(timeout)
        return remaining

    def close(self, timeout: float = 30.0) -> int:
        """Flush and drop the producer; return how many messages were not confirmed."""
        remaining = self.flush(timeout)
        self._producer = None
        return remaining

    def _require(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("call start() before publish()")
        return self._producer
