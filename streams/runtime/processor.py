"""Input messages in, one ledger batch, one outcome per message out.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from schemas import CampaignLaunch, InvalidEvent, decode_input, topic_name
from schemas.inputs import InputEvent
from schemas.topics import Topic
from streams.clock import Clock
from streams.ledger import Conflict, Ledger, LotLimit, Outcome, UnknownSegment
from streams.ledger.outcomes import LaunchOutcome
from streams.runtime.dlq import InputMessage, dead_letter
from streams.runtime.metrics import Metrics
from streams.runtime.producer import AsyncProducer, Outgoing, outgoing_event

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
        (label,) = await self.handle_batch([message])
        return label

    async def handle_batch(self, messages: Sequence[InputMessage]) -> list[str]:
        """Process a batch; return each message's outcome label, in order.

        Decode every message, apply the valid events in one ledger batch (few round trips,
        order per customer kept), then publish the dead letters in message order and wait
        until Kafka has them all: when this returns, every message of the batch is done.
        Raises only for infrastructure, and then nothing of the batch may be acknowledged.
        """
        # Monotonic time measures a duration; it is not a "now" of the service.
        started = time.perf_counter()
        labels = ["" for _ in messages]
        rejected: dict[int, InvalidEvent] = {}
        valid: list[tuple[int, InputEvent]] = []
        for index, message in enumerate(messages):
            try:
                valid.append((index, decode_input(message.topic, message.value or b"")))
            except InvalidEvent as error:
                rejected[index] = error
                labels[index] = "invalid"
        outcomes = await self.ledger.apply_batch([e for _, e in valid], self.clock.now())
        shards: set[int] = set()
        for (index, event), outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, Conflict):
                rejected[index], labels[index] = outcome.error(), "conflict"
            elif isinstance(outcome, UnknownSegment):
                rejected[index], labels[index] = outcome.error(), "unknown_segment"
            elif isinstance(outcome, LotLimit):
                rejected[index], labels[index] = outcome.error(), "lot_limit"
            else:
                labels[index] = outcome_label(outcome)
                # A launch is only recorded here: each shard's fan-out loop grants it and
                # wakes its relay.
                if not isinstance(event, CampaignLaunch):
                    shards.add(self.ledger.shard_of(event.customer_id))
        for shard in sorted(shards):
            self.on_applied(shard)
        await self.dead_letters([(messages[i], rejected[i]) for i in sorted(rejected)])
        elapsed = time.perf_counter() - started
        for message, label in zip(messages, labels, strict=True):
            # What each event waited for its outcome: its batch's time.
            self.metrics.processing_seconds.labels(message.topic.value).observe(elapsed)
            self.metrics.events_consumed.labels(message.topic.value, label).inc()
        return labels

    async def dead_letters(self, rejected: Sequence[tuple[InputMessage, InvalidEvent]]) -> None:
        """Publish the dead letters, in order, and wait until Kafka has every one."""
        await self.producer.send_all([self._dead_letter(m, error) for m, error in rejected])
        for _, error in rejected:
            self.metrics.dead_letters.labels(error.code).inc()

    def _dead_letter(self, message: InputMessage, error: InvalidEvent) -> Outgoing:
        letter = dead_letter(message, error, self.clock.now())
        log.warning(
            "dead letter %s[%s]@%s: %s",
            message.topic_name,
            message.partition,
            message.offset,
            error.code,
        )
        # The contract keys a dead letter by the original key: its bytes, unchanged.
        return outgoing_event(
            topic_name(self.topic_prefix, Topic.DLQ),
            message.key,
            letter,
            event_type=letter.type,
            time=letter.failed_at,
        )
