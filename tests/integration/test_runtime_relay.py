"""The outbox relay on the real broker and Redis: keys, partitions, headers, trimming, and a
repeated relay after a crash between delivery and trim."""

from __future__ import annotations

import asyncio
import json

import pytest

from schemas import Topic
from streams.partitioning import partition_for
from streams.runtime.runtime import Runtime
from streams.settings import Settings
from tests.integration.runtime_harness import ManualClock, purchase, read, running


def test_relay_publishes_keyed_co_partitioned_events_with_headers_then_trims(
    settings: Settings,
) -> None:
    async def scenario() -> int:
        async with running(settings, ManualClock()) as runtime:
            await runtime.ledger.apply(purchase("p1", "alice"), runtime.clock.now())
            shard = runtime.ledger.shard_of("alice")
            relayed = await runtime.relay.relay_once(shard)
            assert await runtime.relay.relay_once(shard) == 0
            assert await runtime.redis.xlen(runtime.ledger.keys(shard).outbox) == 0
            return relayed

    assert asyncio.run(scenario()) == 2  # the accrual and the balance snapshot
    (accrual,) = read(settings, Topic.ACCRUALS, 1)
    value = json.loads(accrual.value() or b"")
    assert accrual.key() == b"alice"
    assert accrual.partition() == partition_for("alice", settings.partitions)
    headers = dict(accrual.headers() or [])
    assert headers["ce_id"] == value["event_id"].encode()
    assert headers["ce_type"] == b"bonus.accrued"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_time"] == b"2026-12-01T10:00:00Z"
    (balance,) = read(settings, Topic.BALANCES, 1)
    assert json.loads(balance.value() or b"")["balance"] == 10


def test_a_relay_that_crashed_before_trimming_sends_the_same_event_ids_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running(settings, ManualClock()) as runtime:
            await runtime.ledger.apply(purchase("p1", "bob"), runtime.clock.now())
            shard = runtime.ledger.shard_of("bob")
            await crash_before_trim(runtime, shard, monkeypatch)
            assert await runtime.relay.relay_once(shard) == 2

    asyncio.run(scenario())
    first, second = read(settings, Topic.ACCRUALS, 2)
    assert first.value() == second.value()
    assert dict(first.headers() or [])["ce_id"] == dict(second.headers() or [])["ce_id"]


async def crash_before_trim(runtime: Runtime, shard: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relay once with a trim that fails, as if the worker died after delivery."""

    async def no_trim(shard: int, upto_id: str) -> int:
        raise ConnectionError("worker died")

    with monkeypatch.context() as patch:
        patch.setattr(runtime.ledger, "trim_outbox", no_trim)
        with pytest.raises(ConnectionError):
            await runtime.relay.relay_once(shard)
