"""The notifier's Kafka loop: consume expiry warnings, commit only when it is safe.

An offset is committed once the handler says its warning was delivered, durably held in Redis,
recognised as a repeat, or found undeliverable for good (not a warning, deadline passed). A
failed delivery rewinds to the message, which is tried again after a pause; nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas import Topic, topic_name
from streams.clock import Clock
from streams.notify.channels import Channel
from streams.notify.handler import Handler, NotifyOptions
from streams.notify.store import NotifyStore, check_group
from streams.notify.template import check_template
from streams.redis_clients import REDIS_ERRORS, SyncClient, sync_redis
from streams.settings import Settings

__all__ = ["Notifier", "NotifyOptions"]

log = logging.getLogger(__name__)


class Notifier:
    """Consume ``bonus.expiry-warnings`` and deliver each warning once through ``channel``.

    Construct (checks the template, no I/O), ``start()``, then ``run(stop)`` or ``step()``;
    ``close()`` at the end.
    """

    def __init__(
        self, settings: Settings, options: NotifyOptions, channel: Channel, clock: Clock
    ) -> None:
        self._settings = settings
        self._options = options
        self._channel = channel
        self._clock = clock
        # A bad template or group fails here, before anything connects.
        check_template(options.template, options.zone)
        check_group(options.group)
        self._topic = topic_name(settings.topic_prefix, Topic.EXPIRY_WARNINGS)
        self._consumer: Consumer | None = None
        self._redis: SyncClient | None = None
        self._handler: Handler | None = None
        self._next_release = 0.0
        self._pause = threading.Event()

    @property
    def handler(self) -> Handler:
        """The handler (its ``counts`` say what happened), once started."""
        if self._handler is None:
            raise RuntimeError("call Notifier.start() first")
        return self._handler

    def start(self) -> None:
        """Connect to Redis (loading the script) and subscribe to the warnings topic."""
        self._redis = sync_redis(self._settings)
        store = NotifyStore(self._redis, self._settings.redis_key_prefix, self._options.group)
        store.load()
        self._handler = Handler(self._options, self._channel, store, self._clock)
        config: dict[str, Any] = self._settings.kafka_config(
            **{
                "client.id": f"bonus-notify-{self._channel.name}",
                "group.id": self._options.group,
                "enable.auto.commit": False,
                # A new group reads what is retained: repeats are dropped, dead ones skipped.
                "auto.offset.reset": "earliest",
            }
        )
        config.pop("partitioner", None)  # a producer property; consumers warn about it
        self._consumer = Consumer(config)
        self._consumer.subscribe([self._topic])
        log.info("notifier %s on %s via %s", self._options.group, self._topic, self._channel.name)

    def close(self) -> None:
        """Leave the group and close the clients."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set."""
        self._pause = stop
        while not stop.is_set():
            self.step()

    def step(self) -> None:
        """Handle at most one message, then release held warnings that are due."""
        consumer = self._require()
        message = consumer.poll(self._options.poll_timeout)
        if message is not None:
            self._handle(consumer, message)
        # Pacing of the scan is real time; what is due is decided on the service clock.
        if time.monotonic() >= self._next_release:
            try:
                self.handler.release_due()
            except REDIS_ERRORS as error:
                log.error("could not release held warnings: %s", error)
            self._next_release = time.monotonic() + self._options.release_every

    def _handle(self, consumer: Consumer, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.error("consumer error: %s", error)
            return
        try:
            done = self.handler.on_message(message.value() or b"")
        except REDIS_ERRORS as error:
            # Without Redis nothing can be deduped or held: try the message again later.
            log.error("redis unavailable: %s", error)
            done = False
        if done:
            consumer.commit(message=message, asynchronous=False)
        else:
            self._rewind(consumer, message)

    def _rewind(self, consumer: Consumer, message: Message) -> None:
        topic, number, offset = message.topic(), message.partition(), message.offset()
        if topic is None or number is None or offset is None:
            return
        partition = TopicPartition(topic, number, offset)
        try:
            consumer.seek(partition)
        except KafkaException as error:
            # The partition moved to another member meanwhile: it reads from the last commit.
            log.warning("could not rewind %s: %s", partition, error)
        self._pause.wait(self._options.retry_pause)

    def _require(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("call Notifier.start() first")
        return self._consumer
