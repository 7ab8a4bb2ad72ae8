"""One input message in, one ledger call, one outcome out.

Bad input (not UTF-8, not JSON, schema errors, a repeated ``event_id`` with another payload)
is data: it becomes a dead letter, delivered before ``handle`` returns, and the worker goes on;
so does an accrual the ledger refuses because the customer's record is at its cap
(``lot_limit``: sound, to be replayed later).
A failure of Redis or Kafka is NOT bad input: it raises, so that the caller does not commit
the message's offset and processes it again (the ledger scripts make the repeat harmless).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from schemas import CampaignLaunch, InvalidEvent, decode_input, topic_name
from schemas.topics import Topic
from streams.clock import Clock
from streams.ledger import Conflict, Ledger, LotLimit, Outcome, UnknownSegment
from streams.ledger.outcomes import LaunchOutcome
from streams.runtime.dlq import InputMessage, dead_letter
from streams.runtime.metrics import Metrics
from streams.runtime.producer import AsyncProducer

log = logging.getLogger(__name__)

OnApplied = Callable[[int | None], None]
"""Told the shard whose outbox a change wrote to (None: possibly every shard)."""


def outcome_label(outcome: Outcome | LaunchOutcome) -> str:
    """A low-cardinality name of an outcome for metrics: ``accrued``, ``duplicate``..."""
    status = getattr(outcome, "status", None)
    name = type(outcome).__name__.lower()
    return f"{name}_{status}" if isinstance(status, str) else name


@dataclass
class Processor:
    """Decodes, applies and dead-letters input messages."""

    ledger: Ledger
    clock: Clock
    producer: AsyncProducer
    metrics: Metrics
    topic_prefix: str
    on_applied: OnApplied

    async def handle(self, message: InputMessage) -> str:
        """Process one message; return its outcome label. Raises only for infrastructure."""
        # Monotonic time measures a duration; it is not a "now" of the service.
        started = time.perf_counter()
        label = await self._handle(message)
        self.metrics.processing_seconds.labels(message.topic.value).observe(
            time.perf_counter() - started
        )
        self.metrics.events_consumed.labels(message.topic.value, label).inc()
        return label

    async def _handle(self, message: InputMessage) -> str:
        try:
            event = decode_input(message.topic, message.value or b"")
        except InvalidEvent as error:
            await self.dead_letter(message, error)
            return "invalid"
        outcome = await self.ledger.apply(event, self.clock.now())
        if isinstance(outcome, Conflict):
            await self.dead_letter(message, outcome.error())
            return "conflict"
        if isinstance(outcome, UnknownSegment):
            await self.dead_letter(message, outcome.error())
            return "unknown_segment"
        if isinstance(outcome, LotLimit):
            await self.dead_letter(message, outcome.error())
            return "lot_limit"
        # A launch is only recorded here: each shard's fan-out loop grants it and wakes its relay.
        if not isinstance(event, CampaignLaunch):
            self.on_applied(self.ledger.shard_of(event.customer_id))
        return outcome_label(outcome)

    async def dead_letter(self, message: InputMessage, error: InvalidEvent) -> None:
        """Publish the dead letter of ``message`` and wait until Kafka has it."""
        letter = dead_letter(message, error, self.clock.now())
        log.warning(
            "dead letter %s[%s]@%s: %s",
            message.topic_name,
            message.partition,
            message.offset,
            error.code,
        )
        # The contract keys a dead letter by the original key: its bytes, unchanged.
        future = self.producer.send_event(
            topic_name(self.topic_prefix, Topic.DLQ),
            message.key,
            letter,
            event_type=letter.type,
            time=letter.failed_at,
        )
        await future
        self.metrics.dead_letters.labels(error.code).inc()
