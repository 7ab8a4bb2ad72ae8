"""Processing input messages on the real broker and Redis: bad input becomes a delivered dead
letter, a Redis failure raises (so the offset is not committed) and is retried."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis

from schemas import Topic, to_json_bytes, topic_name
from streams.runtime.dlq import InputMessage
from streams.settings import Settings
from tests.integration.runtime_harness import ManualClock, corrupt, purchase, read, running


def message(settings: Settings, value: bytes | None, offset: int = 7) -> InputMessage:
    """A purchases message from partition 1 keyed ``carol``."""
    name = topic_name(settings.topic_prefix, Topic.PURCHASES)
    return InputMessage(Topic.PURCHASES, name, 1, offset, b"carol", value)


def test_bad_inputs_and_conflicts_are_dead_lettered_with_their_origin(settings: Settings) -> None:
    good = to_json_bytes(purchase("p1", "carol"))
    conflict = to_json_bytes(purchase("p1", "carol", amount="300"))
    huge = b'"' + b"x" * 100_000 + b'"'

    async def scenario() -> list[str]:
        async with running(settings, ManualClock()) as runtime:
            return [
                await runtime.processor.handle(message(settings, b"\xff\xfe", 1)),
                await runtime.processor.handle(message(settings, None, 2)),
                await runtime.processor.handle(message(settings, good, 3)),
                await runtime.processor.handle(message(settings, good, 4)),
                await runtime.processor.handle(message(settings, conflict, 5)),
                await runtime.processor.handle(message(settings, huge, 6)),
            ]

    labels = asyncio.run(scenario())
    assert labels == ["invalid", "invalid", "accrued", "duplicate", "conflict", "invalid"]
    letters = [json.loads(m.value() or b"") for m in read(settings, Topic.DLQ, 4)]
    letters.sort(key=lambda letter: letter["offset"])
    codes = [letter["error"]["code"] for letter in letters]
    assert codes == ["not_utf8", "not_json", "duplicate_conflict", "not_an_object"]
    first: dict[str, Any] = letters[0]
    assert first["source_topic"] == topic_name(settings.topic_prefix, Topic.PURCHASES)
    assert (first["partition"], first["offset"], first["key"]) == (1, 1, "carol")
    assert letters[2]["payload"] == conflict.decode()
    assert len(letters[3]["payload"].encode()) == 64 * 1024
    assert letters[3]["payload_truncated"] is True


def test_a_redis_failure_raises_and_the_runtime_retries_the_same_message(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = to_json_bytes(purchase("p1", "dave"))

    async def scenario() -> tuple[int, str]:
        async with running(settings, ManualClock()) as runtime:
            apply = runtime.ledger.apply_batch
            calls = 0

            async def flaky(*args: Any) -> Any:
                nonlocal calls
                calls += 1
                if calls <= 2:
                    raise redis.ConnectionError("Redis went away")
                return await apply(*args)

            monkeypatch.setattr(runtime.ledger, "apply_batch", flaky)
            with pytest.raises(redis.ConnectionError):
                await runtime.processor.handle(message(settings, good))
            label = await runtime.handle(message(settings, good))
            return calls, label

    calls, label = asyncio.run(scenario())
    assert (calls, label) == (3, "accrued")


def test_a_valid_event_that_fails_every_time_is_dead_lettered_and_the_batch_moves_on(
    settings: Settings,
) -> None:
    # Mallory's record is corrupt (a lot whose shape no name code resolves): every script of
    # hers fails with the same "ledger: unknown name code". Without isolation the batch would be
    # retried forever and the partition would stop.
    name = topic_name(settings.topic_prefix, Topic.PURCHASES)
    events = [("c1", "carol"), ("m1", "mallory"), ("c2", "carol")]
    batch = [
        InputMessage(Topic.PURCHASES, name, 1, n, who.encode(), to_json_bytes(purchase(e, who)))
        for n, (e, who) in enumerate(events, start=10)
    ]

    async def scenario() -> tuple[list[str], list[str], float | None]:
        async with running(settings, ManualClock()) as runtime:
            await corrupt(runtime, "mallory")
            labels = await runtime.handle_batch(batch)
            again = [await runtime.processor.handle(m) for m in (batch[0], batch[2])]
            failed = runtime.metrics.registry.get_sample_value(
                "bonus_dead_letters_total", {"code": "processing_failed"}
            )
            return labels, again, failed

    labels, again, failed = asyncio.run(scenario())
    assert labels[1] == "processing_failed"
    assert {labels[0], labels[2]} <= {"accrued", "duplicate"}
    # Carol's purchases were applied, once: a repeat is a duplicate.
    assert again == ["duplicate", "duplicate"]
    assert failed == 1
    (letter,) = [json.loads(m.value() or b"") for m in read(settings, Topic.DLQ, 1)]
    assert letter["error"]["code"] == "processing_failed"
    assert "unknown name code zz" in letter["error"]["message"]
    assert (letter["offset"], letter["key"]) == (11, "mallory")
    assert letter["payload"] == batch[1].value.decode()  # type: ignore[union-attr]
