"""Backpressure from the outbox on the real broker and Redis: with the relay not running, a
shard's input stops once its outbox backlog passes BONUS_OUTBOX_BACKLOG_LIMIT, with a log line
and a metric, and resumes (applying the held message) once the relay has drained it; other
shards keep taking input meanwhile."""

from __future__ import annotations

import asyncio
import logging

import pytest

from schemas import Topic, to_json_bytes, topic_name
from streams.partitioning import partition_for
from streams.runtime.dlq import InputMessage
from streams.runtime.runtime import Runtime
from streams.settings import Settings
from tests.integration.runtime_harness import ManualClock, purchase, running

LIMIT = 100


def message(settings: Settings, customer: str, n: int) -> InputMessage:
    """Purchase ``n`` of ``customer``, on its shard's partition."""
    name = topic_name(settings.topic_prefix, Topic.PURCHASES)
    partition = partition_for(customer, settings.partitions)
    value = to_json_bytes(purchase(f"{customer}-{n}", customer))
    return InputMessage(Topic.PURCHASES, name, partition, n, customer.encode(), value)


def other_shard_customer(settings: Settings, customer: str) -> str:
    """A customer of another shard than ``customer``'s."""
    shard = partition_for(customer, settings.partitions)
    return next(
        f"other-{i}"
        for i in range(100)
        if partition_for(f"other-{i}", settings.partitions) != shard
    )


def sample(runtime: Runtime, name: str, shard: int) -> float:
    value = runtime.metrics.registry.get_sample_value(name, {"shard": str(shard)})
    return 0.0 if value is None else value


def test_input_pauses_past_the_backlog_limit_and_resumes_when_drained(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    limited = settings.model_copy(update={"outbox_backlog_limit": LIMIT})
    other = other_shard_customer(limited, "hana")

    async def scenario() -> None:
        async with running(limited, ManualClock()) as runtime:
            gate = runtime.gate
            gate.check_seconds, gate.poll_seconds = 0.0, 0.05
            shard = runtime.ledger.shard_of("hana")
            # No relay runs (no partition assigned): the outbox only grows. Each purchase
            # writes an accrual and a balance snapshot.
            n = 0
            while await gate.backlog(shard) <= LIMIT:
                n += 1
                assert await runtime.handle(message(limited, "hana", n)) == "accrued"
            held = asyncio.create_task(runtime.handle(message(limited, "hana", n + 1)))
            await asyncio.sleep(0.5)
            assert not held.done()
            assert sample(runtime, "bonus_input_paused", shard) == 1
            assert sample(runtime, "bonus_input_pauses_total", shard) == 1
            backlog = await gate.backlog(shard)
            assert backlog == 2 * n  # nothing applied while held
            # The gauge is current though no relay runs.
            assert sample(runtime, "bonus_outbox_backlog_entries", shard) == backlog
            # Another shard is not held.
            assert await runtime.handle(message(limited, other, 1)) == "accrued"
            # The relay drains part of it: still over the resume level (half the limit).
            runtime.relay.batch = backlog - LIMIT // 2 - 1
            assert await runtime.relay.relay_once(shard) == runtime.relay.batch
            await asyncio.sleep(0.3)
            assert not held.done()
            runtime.relay.batch = 500
            await runtime.relay.relay_once(shard)
            assert await asyncio.wait_for(held, 10) == "accrued"
            assert sample(runtime, "bonus_input_paused", shard) == 0
            assert await gate.backlog(shard) == 2

    with caplog.at_level(logging.INFO, logger="streams.runtime.backpressure"):
        asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "streams.runtime.backpressure"]
    assert len(messages) == 2
    assert "input paused" in messages[0]
    assert "BONUS_OUTBOX_BACKLOG_LIMIT" in messages[0]
    assert "input resumed" in messages[1]
