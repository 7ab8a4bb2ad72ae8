"""The composition root of a worker: builds the clients, the ledger and the loops, and owns
their lifecycle. The host (faust) calls ``start``, ``handle``, ``assign``/``revoke`` and ``stop``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry

from schemas import InvalidEvent, Topic, topic_name
from schemas.errors import ErrorCode
from streams.analytics.counters import window_length_ms
from streams.analytics.store import MetricsStore
from streams.clock import Clock
from streams.failpoints import Failpoints
from streams.ledger import Ledger
from streams.redis_clients import async_redis
from streams.rules.model import RulesFile
from streams.runtime.backpressure import OutboxGate
from streams.runtime.dlq import InputMessage
from streams.runtime.failures import deterministic
from streams.runtime.fanout import Fanout, create_fanout_metrics
from streams.runtime.metrics import Metrics, create_metrics
from streams.runtime.ownership import Ownership
from streams.runtime.processor import Processor
from streams.runtime.producer import AsyncProducer, producer_config
from streams.runtime.relay import Relay
from streams.runtime.timers import Timers
from streams.runtime.windows import WindowCloser
from streams.settings import Settings

log = logging.getLogger(__name__)

RETRY_FIRST, RETRY_MAX = 0.1, 5.0  # real seconds between attempts at one message
# Attempts that fail the same deterministic way before the batch is retried message by message
# and a message that still fails alone is dead-lettered (see ``deterministic``).
POISON_ATTEMPTS = 5


def retry_delays() -> Iterator[float]:
    """Real seconds to wait before each next attempt: doubling from RETRY_FIRST to RETRY_MAX."""
    delay = RETRY_FIRST
    while True:
        yield delay
        delay = min(delay * 2, RETRY_MAX)


class Runtime:
    """Everything a worker runs, faust aside. Construct (no I/O), ``await start()``."""

    def __init__(
        self,
        settings: Settings,
        rules: RulesFile,
        partitions: int,
        clock: Clock,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics: Metrics = create_metrics(registry or CollectorRegistry())
        self.redis = async_redis(settings)
        failpoints = Failpoints.from_spec(settings.failpoints)
        self.ledger = Ledger(
            self.redis,
            prefix=settings.redis_key_prefix,
            partitions=partitions,
            rules=rules,
            max_record_fields=settings.max_record_fields,
            failpoints=failpoints,
        )
        self.producer = AsyncProducer(producer_config(settings))
        prefix = settings.topic_prefix
        self.relay = Relay(
            self.ledger, self.producer, clock, self.metrics, prefix, failpoints=failpoints
        )
        self.timers = Timers(self.ledger, clock, self.metrics, self.relay, failpoints=failpoints)
        fanout_metrics = create_fanout_metrics(self.metrics.registry)
        self.fanout = Fanout(self.ledger, clock, fanout_metrics, self.relay)
        self.ownership = Ownership(
            {"relay": self.relay.run, "timers": self.timers.run, "fanout": self.fanout.run},
            self.metrics,
        )
        self.gate = OutboxGate(self.ledger, self.metrics, settings.outbox_backlog_limit)
        self.processor = Processor(
            self.ledger, clock, self.producer, self.metrics, prefix, self.relay.notify
        )
        self.windows = WindowCloser(
            MetricsStore(self.redis, settings.redis_key_prefix, partitions),
            self.producer,
            clock,
            topic_name(prefix, Topic.METRICS),
            window_length_ms(settings.metrics_window),
        )
        self.started = asyncio.Event()
        self.consuming = False

    async def start(self) -> None:
        """Connect: load the scripts into Redis and start the producer."""
        await self.ledger.start()
        await self.producer.start()
        await self.windows.start()
        self.started.set()
        log.info("runtime started (%s partitions)", self.ledger.partitions)

    async def stop(self) -> None:
        """Stop the loops, deliver what is queued, close the clients."""
        self.consuming = False
        await self.ownership.stop()
        await self.windows.stop()
        await self.producer.stop()
        await self.redis.aclose()
        log.info("runtime stopped")

    async def handle(self, message: InputMessage) -> str:
        """Process one message, retrying until it is done; only then may its offset commit."""
        (label,) = await self.handle_batch([message])
        return label

    async def handle_batch(self, messages: Sequence[InputMessage]) -> list[str]:
        """Process a batch, retrying until it is done; only then may its offsets commit.

        Bad input never raises (it is dead-lettered). A failure of Redis or Kafka is retried
        here with backoff, the whole batch again: moving on would skip messages, and the
        events that were applied before the failure come back as duplicates (no change).
        A failure that is :func:`deterministic` (a valid event that a corrupt record or a bug
        makes fail every time) would hold the partition forever: after ``POISON_ATTEMPTS``
        the batch is retried message by message, and a message that still fails so alone is
        dead-lettered with code ``processing_failed`` and the error, to be replayed once fixed.
        """
        await self.started.wait()
        self.metrics.batch_size.labels("input").observe(len(messages))
        return await self._until_done(messages)

    async def _until_done(self, messages: Sequence[InputMessage]) -> list[str]:
        poisoned = 0
        delays = retry_delays()
        while True:
            try:
                # A message's partition is its customer's shard (design decision 1).
                for partition in sorted({m.partition for m in messages}):
                    await self.gate.wait(partition)
                return await self.processor.handle_batch(messages)
            except Exception as error:
                first, delay = messages[0], next(delays)
                log.exception(
                    "processing %s messages from %s[%s]@%s failed; retrying in %.1fs",
                    len(messages),
                    first.topic_name,
                    first.partition,
                    first.offset,
                    delay,
                )
                poisoned = poisoned + 1 if deterministic(error) else 0
                if poisoned >= POISON_ATTEMPTS:
                    if len(messages) == 1:
                        return [await self._poisoned(first, error)]
                    # One by one, in order (a key's messages stay in order).
                    return [label for m in messages for label in await self._until_done([m])]
            await asyncio.sleep(delay)

    async def _poisoned(self, message: InputMessage, error: Exception) -> str:
        """Dead-letter a message that fails alone the same way every time."""
        reason = InvalidEvent(
            ErrorCode.PROCESSING_FAILED,
            f"processing failed {POISON_ATTEMPTS} times: {type(error).__name__}: {error}"[:2000],
        )
        for delay in retry_delays():
            try:
                await self.processor.dead_letters([(message, reason)])
                break
            except Exception:
                log.exception("dead letter of a failing message not delivered; retrying")
            await asyncio.sleep(delay)
        self.metrics.events_consumed.labels(message.topic.value, "processing_failed").inc()
        return "processing_failed"

    async def assign(self, shards: Iterable[int]) -> None:
        """The full new assignment: run the loops of exactly these shards."""
        await self.started.wait()
        await self.ownership.assign(shards)
        self.consuming = True

    async def revoke(self, shards: Iterable[int]) -> None:
        """A rebalance began; ``shards`` keep running until the new assignment says otherwise."""
        self.ownership.start_rebalance()
        log.info("rebalance: %s revoked, loops run on until the new assignment", sorted(shards))
