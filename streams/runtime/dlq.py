"""Dead letters: an input that cannot be processed, with where it came from and why.

The dead letter of a message has a deterministic ``event_id`` (topic, partition, offset), so
a message processed twice (after a crash before its offset was committed) gives the same id.
Its payload is bounded: cut at ``DEAD_LETTER_PAYLOAD_LIMIT`` (64 KiB of UTF-8), with the
original's size and SHA-256 beside it, so nothing is lost silently: the whole original stays in
its input topic at the recorded offset (for the topic's retention).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from schemas import DeadLetter, ErrorInfo, InvalidEvent, Topic, payload_text
from streams.core.ids import output_event_id


@dataclass(frozen=True, slots=True)
class InputMessage:
    """One consumed Kafka message, as the runtime needs it (no client types)."""

    topic: Topic
    topic_name: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def dead_letter(message: InputMessage, error: InvalidEvent, failed_at: datetime) -> DeadLetter:
    """The DeadLetter of ``message``; the payload is cut at 64 KiB of UTF-8."""
    raw = message.value or b""
    payload, truncated = payload_text(raw)
    key = None if message.key is None else message.key.decode("utf-8", errors="replace")
    return DeadLetter(
        event_id=output_event_id(
            "dead_letter", message.topic_name, str(message.partition), str(message.offset)
        ),
        source_topic=message.topic_name,
        partition=message.partition,
        offset=message.offset,
        key=key,
        error=ErrorInfo(code=error.code, message=error.message),
        payload=payload,
        payload_truncated=truncated,
        payload_bytes=len(raw),
        payload_sha256=hashlib.sha256(raw).hexdigest(),
        failed_at=failed_at,
    )
