"""An idempotent confluent-kafka producer whose deliveries can be awaited from asyncio.

librdkafka calls delivery callbacks from ``poll()``/``flush()``; a background task polls on
the event loop, and each callback resolves the future of its message (thread-safely, because
``flush()`` at stop runs in a worker thread). :meth:`AsyncProducer.send_all` gives a whole
batch ONE future that resolves when every message of it was delivered: the relay's hot path,
where a future, a thread hand-off and a gather per message cost more than producing it.
Connects on start, flushes and closes on stop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from pydantic import BaseModel

from schemas import cloudevent_headers, to_json_bytes
from schemas.errors import BonusError
from streams.runtime.tasks import cancel_and_wait
from streams.settings import Settings

log = logging.getLogger(__name__)

CE_SOURCE = "urn:bonus-streams:worker"
_POLL_INTERVAL = 0.01


class DeliveryError(BonusError):
    """A message could not be delivered (after librdkafka's own retries)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to produce."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, str | bytes | None]]


class _BatchDelivery:
    """Counts the delivery reports of a batch down; settles one future at the last report.

    Reports are counted on the event loop's thread only (a report served by ``flush()`` in a
    worker thread is handed over), so no lock is needed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.left = count
        self.error: DeliveryError | None = None
        self.future: asyncio.Future[int] = loop.create_future()
        self.count = count
        if count == 0:
            self.future.set_result(0)

    def delivered(self, error: KafkaError | None, message: Message) -> None:
        if threading.get_ident() == self.thread:
            self.settle(error, message)
        else:
            self.loop.call_soon_threadsafe(self.settle, error, message)

    def settle(self, error: KafkaError | None, message: Message | None) -> None:
        if error is not None and self.error is None:
            topic = message.topic() if message is not None else "?"
            self.error = DeliveryError(f"{topic}: {error.str()}")
        self.left -= 1
        if self.left == 0 and not self.future.done():
            if self.error is not None:
                self.future.set_exception(self.error)
            else:
                self.future.set_result(self.count)


def producer_config(settings: Settings) -> dict[str, Any]:
    """Idempotent, ``acks=all``, murmur2 (from ``Settings.kafka_config``), low linger."""
    return settings.kafka_config(
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "client.id": "bonus-worker",
        }
    )


class AsyncProducer:
    """Produce and await deliveries. Construct (no I/O), ``await start()``, ``await stop()``."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._producer: Producer | None = None
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the client and start polling for delivery reports."""
        self._producer = Producer(self._config)
        self._poller = asyncio.create_task(self._poll_forever(), name="producer-poll")

    async def stop(self, flush_seconds: float = 10.0) -> None:
        """Deliver what is queued (up to ``flush_seconds``), then stop polling."""
        if self._producer is None:
            return
        left = await asyncio.to_thread(self._producer.flush, flush_seconds)
        if left:
            log.warning("%s messages were not delivered before stop", left)
        if self._poller is not None:
            await cancel_and_wait([self._poller])
        self._producer = None

    async def _poll_forever(self) -> None:
        while self._producer is not None:
            self._producer.poll(0)
            await asyncio.sleep(_POLL_INTERVAL)

    def send(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> asyncio.Future[Message]:
        """Queue one message; the future resolves on delivery or fails with DeliveryError."""
        if self._producer is None:
            raise RuntimeError("call await AsyncProducer.start() first")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Message] = loop.create_future()

        def settle(error: KafkaError | None, message: Message) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(DeliveryError(f"{topic}: {error.str()}"))
            else:
                future.set_result(message)

        def delivered(error: KafkaError | None, message: Message) -> None:
            loop.call_soon_threadsafe(settle, error, message)

        encoded_key = key.encode("utf-8") if isinstance(key, str) else key
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=encoded_key,
                    headers=list(headers),
                    on_delivery=delivered,
                )
                return future
            except BufferError:
                # The local queue is full: serve delivery reports to make room, then retry.
                self._producer.poll(0.1)
            except KafkaException as error:
                future.set_exception(DeliveryError(f"{topic}: {error}"))
                return future

    def send_all(self, messages: Sequence[Outgoing]) -> asyncio.Future[int]:
        """Queue ``messages`` in order; the future resolves (with their number) when every one
        was delivered, or fails with the first DeliveryError once all have been reported."""
        if self._producer is None:
            raise RuntimeError("call await AsyncProducer.start() first")
        batch = _BatchDelivery(asyncio.get_running_loop(), len(messages))
        produce = self._producer.produce
        for message in messages:
            while True:
                try:
                    produce(
                        message.topic,
                        value=message.value,
                        key=message.key,
                        headers=message.headers,
                        on_delivery=batch.delivered,
                    )
                    break
                except BufferError:
                    # The local queue is full: serve delivery reports to make room, then retry.
                    self._producer.poll(0.1)
                except KafkaException as error:
                    batch.settle(KafkaError(KafkaError._FAIL, str(error)), None)
                    break
        return batch.future

    def send_event(
        self,
        topic: str,
        key: str | bytes | None,
        event: BaseModel,
        *,
        event_type: str,
        time: datetime,
    ) -> asyncio.Future[Message]:
        """Queue an output event as JSON with CloudEvents binary-mode headers."""
        event_id = str(getattr(event, "event_id", ""))
        headers = cloudevent_headers(event_id, event_type, source=CE_SOURCE, time=time)
        return self.send(topic, key, to_json_bytes(event), headers)


def outgoing_event(
    topic: str, key: str | bytes | None, event: BaseModel, *, event_type: str, time: datetime
) -> Outgoing:
    """An output event as a message: JSON value, CloudEvents binary-mode headers."""
    event_id = str(getattr(event, "event_id", ""))
    headers: list[tuple[str, str | bytes | None]] = list(
        cloudevent_headers(event_id, event_type, source=CE_SOURCE, time=time)
    )
    encoded_key = key.encode("utf-8") if isinstance(key, str) else key
    return Outgoing(topic, encoded_key, to_json_bytes(event), headers)


async def wait_all(futures: Sequence[asyncio.Future[Message]]) -> None:
    """Wait for every delivery; raise the first DeliveryError after all have settled."""
    results = await asyncio.gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
