"""Dead letters stay small whatever the input: a huge input's payload is cut at 64 KiB with the
original's size and SHA-256 beside it; an accrual refused by the record cap is dead-lettered
whole with its code (real broker and Redis, through the worker's processor)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from schemas import DEAD_LETTER_PAYLOAD_LIMIT, Topic, to_json_bytes, topic_name
from streams.runtime.dlq import InputMessage
from streams.settings import Settings
from tests.integration.runtime_harness import ManualClock, purchase, read, running


def message(settings: Settings, value: bytes, offset: int) -> InputMessage:
    """A purchases message from partition 1 keyed ``erin``."""
    name = topic_name(settings.topic_prefix, Topic.PURCHASES)
    return InputMessage(Topic.PURCHASES, name, 1, offset, b"erin", value)


def test_huge_inputs_give_bounded_dead_letters_that_identify_the_original(
    settings: Settings,
) -> None:
    over = b"[" + b"1," * 600_000 + b"1]"  # 1.2 MB: refused for its size
    under = b'{"event_id": "' + "é".encode() * 400_000 + b'"'  # 800 KB of broken JSON
    # Bytes that are not UTF-8 become U+FFFD (3 bytes each): cut again after decoding.
    binary = b"\xff" * 300_000
    # Control characters are escaped in JSON (6 bytes each): the worst case of a dead letter.
    control = b"\x01" * 100_000
    inputs = [over, under, binary, control]

    async def scenario() -> list[str]:
        async with running(settings, ManualClock()) as runtime:
            return [
                await runtime.processor.handle(message(settings, raw, n))
                for n, raw in enumerate(inputs)
            ]

    assert asyncio.run(scenario()) == ["invalid"] * 4
    records = sorted(
        read(settings, Topic.DLQ, 4), key=lambda m: json.loads(m.value() or b"")["offset"]
    )
    sizes = [len(m.value() or b"") for m in records]
    assert all(size < DEAD_LETTER_PAYLOAD_LIMIT + 2048 for size in sizes[:3])
    assert 5 * DEAD_LETTER_PAYLOAD_LIMIT < sizes[3] < 6 * DEAD_LETTER_PAYLOAD_LIMIT + 2048
    letters: list[dict[str, Any]] = [json.loads(m.value() or b"") for m in records]
    codes = [letter["error"]["code"] for letter in letters]
    assert codes == ["payload_too_large", "not_json", "not_utf8", "not_json"]
    for raw, letter in zip(inputs, letters, strict=True):
        assert letter["payload_truncated"] is True
        assert len(letter["payload"].encode()) <= DEAD_LETTER_PAYLOAD_LIMIT
        assert letter["payload_bytes"] == len(raw)
        assert letter["payload_sha256"] == hashlib.sha256(raw).hexdigest()
        # What is kept is the start of the original.
        assert raw.decode("utf-8", errors="replace").startswith(letter["payload"])


def test_an_accrual_past_the_record_cap_is_dead_lettered_whole(settings: Settings) -> None:
    capped = settings.model_copy(update={"max_record_fields": 16})
    events = [to_json_bytes(purchase(f"p{n}", "erin", amount="1500")) for n in range(20)]

    async def scenario() -> list[str]:
        async with running(capped, ManualClock()) as runtime:
            return [
                await runtime.processor.handle(message(capped, raw, n))
                for n, raw in enumerate(events)
            ]

    labels = asyncio.run(scenario())
    refused = [n for n, label in enumerate(labels) if label == "lot_limit"]
    assert refused
    assert set(labels) == {"accrued", "lot_limit"}
    letters = [json.loads(m.value() or b"") for m in read(capped, Topic.DLQ, len(refused))]
    assert sorted(letter["offset"] for letter in letters) == refused
    for letter in letters:
        assert letter["error"]["code"] == "lot_limit"
        assert letter["payload"] == events[letter["offset"]].decode()
        assert letter["payload_truncated"] is False
