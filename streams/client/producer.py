"""``BonusProducer``: the producer for point-of-sale and shop backends (and the demo).

Synchronous, because most backends are. Every event is validated with the contract's models
before anything is queued; it goes to its topic (settings' prefix) keyed by ``customer_id``
(``campaign_id`` for a CampaignLaunch) with CloudEvents headers. The client is idempotent,
``acks=all``, and uses Kafka's Java murmur2 partitioner like every producer of this project.
Delivery reports arrive through ``poll``/``flush`` (``send`` polls too).

    with BonusProducer(load_settings()) as producer:
        producer.send(Purchase(...), on_delivery=lambda report: ...)
    # leaving the block flushes; producer.stats says what was delivered
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Final, Self

from confluent_kafka import KafkaError, Message, Producer

from schemas import InputEvent, Topic, cloudevent_headers, to_json_bytes, topic_name
from streams.client.routing import route_for, validate_input
from streams.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_SOURCE: Final = "urn:bonus-streams:client"
Headers = Sequence[tuple[str, str | bytes]]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The outcome of one message: where it landed, or why it did not."""

    topic: str
    key: str | None
    event_id: str | None
    label: str
    partition: int | None
    offset: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether the broker acknowledged the message."""
        return self.error is None


DeliveryCallback = Callable[[DeliveryReport], None]


@dataclass
class DeliveryStats:
    """Messages queued, and what the broker confirmed or refused, by label (default: topic)."""

    sent: int = 0
    delivered: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None

    @property
    def total_delivered(self) -> int:
        """Messages the broker acknowledged."""
        return sum(self.delivered.values())

    @property
    def total_failed(self) -> int:
        """Messages that could not be delivered (after librdkafka's own retries)."""
        return sum(self.failed.values())


class BonusProducer:
    """Validate, route and produce input events. No network before ``start()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: str = "bonus-client",
        source: str = DEFAULT_SOURCE,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._client_id = client_id
        self._source = source
        self._extra = dict(config or {})
        self._producer: Producer | None = None
        self.stats = DeliveryStats()

    def config(self) -> dict[str, Any]:
        """The librdkafka configuration: idempotent, ``acks=all``, murmur2 (plus ``config``)."""
        return self._settings.kafka_config(
            **{
                "client.id": self._client_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                **self._extra,
            }
        )

    def start(self) -> None:
        """Create the client (connections are made in the background from here)."""
        if self._producer is None:
            self._producer = Producer(self.config())

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        remaining = self.close()
        if remaining and exc is None:
            log.error("%s messages were not confirmed before close", remaining)

    def send(
        self,
        event: InputEvent | Mapping[str, Any] | bytes,
        *,
        topic: Topic | None = None,
        on_delivery: DeliveryCallback | None = None,
        label: str | None = None,
    ) -> InputEvent:
        """Validate ``event`` and queue it; return the validated model.

        A model is routed by its type; a dict or JSON bytes needs ``topic``. An invalid event
        raises ``schemas.InvalidEvent`` (with every problem) and nothing is sent.
        """
        validated = validate_input(event, topic)
        route = route_for(validated)
        headers = cloudevent_headers(
            validated.event_id, route.ce_type, source=self._source, time=validated.occurred_at
        )
        self.send_raw(
            route.topic,
            route.key,
            to_json_bytes(validated),
            headers=headers,
            event_id=validated.event_id,
            on_delivery=on_delivery,
            label=label,
        )
        return validated

    def send_raw(
        self,
        topic: Topic,
        key: str | None,
        value: bytes,
        *,
        headers: Headers = (),
        event_id: str | None = None,
        on_delivery: DeliveryCallback | None = None,
        label: str | None = None,
    ) -> None:
        """Queue bytes as they are, NOT validated: for replaying stored messages or for
        exercising the dead-letter path (the demo's deliberate mistakes). Prefer ``send``."""
        producer = self._require()
        name = topic_name(self._settings.topic_prefix, topic)
        tag = label or topic.value

        queued = DeliveryReport(name, key, event_id, tag, None, None, None)

        def delivered(error: KafkaError | None, message: Message) -> None:
            self._settle(queued, error, message, on_delivery)

        while True:
            try:
                producer.produce(
                    name,
                    key=None if key is None else key.encode("utf-8"),
                    value=value,
                    headers=list(headers),
                    on_delivery=delivered,
                )
                break
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                producer.poll(0.1)
        self.stats.sent += 1
        producer.poll(0)

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery reports that arrived (waiting up to ``timeout`` s); return how many."""
        if self._producer is None:
            return 0
        served: int = self._producer.poll(timeout)
        return served

    def flush(self, timeout: float = 30.0) -> int:
        """Wait up to ``timeout`` s for outstanding deliveries; return how many are left."""
        if self._producer is None:
            return 0
        remaining: int = self._producer.flush(timeout)
        return remaining

    def close(self, timeout: float = 30.0) -> int:
        """Flush and drop the client; return how many messages were not confirmed."""
        remaining = self.flush(timeout)
        self._producer = None
        return remaining

    def _settle(
        self,
        queued: DeliveryReport,
        error: KafkaError | None,
        message: Message,
        callback: DeliveryCallback | None,
    ) -> None:
        if error is None:
            self.stats.delivered[queued.label] += 1
            report = replace(queued, partition=message.partition(), offset=message.offset())
        else:
            self.stats.failed[queued.label] += 1
            self.stats.last_error = str(error)
            who = queued.event_id or queued.key
            log.error("delivery of %s to %s failed: %s", who, queued.topic, error)
            report = replace(queued, error=str(error))
        if callback is None:
            return
        try:
            callback(report)
        except Exception:
            # librdkafka would swallow it inside poll(); say so instead of losing it.
            log.exception("delivery callback for %s raised", queued.event_id or queued.key)

    def _require(self) -> Producer:
        if self._producer is None:
            raise RuntimeError("call start() (or use 'with BonusProducer(...)') before sending")
        return self._producer
