"""Bytes on the wire: compact JSON with a stable key order, and CloudEvents headers."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel

from schemas.times import format_time


def to_json_bytes(model: BaseModel) -> bytes:
    """``model`` as compact UTF-8 JSON with sorted keys: equal events give equal bytes."""
    data = model.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def cloudevent_headers(
    event_id: str, event_type: str, *, source: str, time: datetime
) -> list[tuple[str, bytes]]:
    """Kafka headers of CloudEvents binary mode for an output (``ce_id`` = ``event_id``)."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_type", event_type.encode()),
        ("ce_source", source.encode()),
        ("ce_time", format_time(time).encode()),
        ("content-type", b"application/json"),
    ]
