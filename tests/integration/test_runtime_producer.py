"""The asyncio producer on the real broker: murmur2 partitions, headers, awaited deliveries,
and a delivery that fails raising DeliveryError instead of passing silently."""

from __future__ import annotations

import asyncio

import pytest

from schemas import BonusBurned
from streams.partitioning import partition_for
from streams.runtime.producer import (
    AsyncProducer,
    DeliveryError,
    Outgoing,
    producer_config,
    wait_all,
)
from streams.settings import Settings
from tests.integration.kafka_helpers import consume, create_topic
from tests.integration.runtime_harness import T0


def test_deliveries_are_awaited_and_land_on_the_java_partition(settings: Settings) -> None:
    topic = f"{settings.topic_prefix}out"
    create_topic(settings.kafka_bootstrap, topic, 4)
    keys = [f"customer-{n}" for n in range(20)]

    async def scenario() -> list[int]:
        producer = AsyncProducer(producer_config(settings))
        await producer.start()
        try:
            futures = [producer.send(topic, key, key.encode()) for key in keys]
            await wait_all(futures)
            return [future.result().partition() or 0 for future in futures]
        finally:
            await producer.stop()

    partitions = asyncio.run(scenario())
    assert partitions == [partition_for(key, 4) for key in keys]
    messages = consume(settings.kafka_bootstrap, topic, settings.consumer_group, 20)
    assert sorted(m.value() or b"" for m in messages) == sorted(k.encode() for k in keys)


def test_an_event_carries_cloudevents_headers(settings: Settings) -> None:
    topic = f"{settings.topic_prefix}burns"
    create_topic(settings.kafka_bootstrap, topic, 1)
    event = BonusBurned(
        event_id="burned-1",
        customer_id="c1",
        lot_id="lot-1",
        points=5,
        expired_at=T0,
        rule_id="cashback",
    )

    async def scenario() -> None:
        producer = AsyncProducer(producer_config(settings))
        await producer.start()
        try:
            await producer.send_event(topic, "c1", event, event_type=event.type, time=T0)
        finally:
            await producer.stop()

    asyncio.run(scenario())
    (message,) = consume(settings.kafka_bootstrap, topic, settings.consumer_group, 1)
    headers = dict(message.headers() or [])
    assert headers == {
        "ce_specversion": b"1.0",
        "ce_id": b"burned-1",
        "ce_type": b"bonus.burned",
        "ce_source": b"urn:bonus-streams:worker",
        "ce_time": b"2026-12-01T10:00:00Z",
        "content-type": b"application/json",
    }


def test_a_failed_delivery_raises(settings: Settings) -> None:
    async def scenario() -> None:
        config = {**producer_config(settings), "message.timeout.ms": 1500}
        producer = AsyncProducer(config)
        await producer.start()
        try:
            with pytest.raises(DeliveryError):
                await producer.send(f"{settings.topic_prefix}missing", "k", b"v")
        finally:
            await producer.stop(flush_seconds=3)

    asyncio.run(scenario())


def test_a_batch_resolves_once_every_message_is_delivered(settings: Settings) -> None:
    topic = f"{settings.topic_prefix}batch"
    create_topic(settings.kafka_bootstrap, topic, 2)
    messages = [Outgoing(topic, f"k{n}".encode(), f"v{n}".encode(), []) for n in range(50)]

    async def scenario() -> int:
        producer = AsyncProducer(producer_config(settings))
        await producer.start()
        try:
            assert await producer.send_all([]) == 0
            return await producer.send_all(messages)
        finally:
            await producer.stop()

    assert asyncio.run(scenario()) == 50
    consumed = consume(settings.kafka_bootstrap, topic, settings.consumer_group, 50)
    assert sorted(m.value() or b"" for m in consumed) == sorted(m.value for m in messages)


def test_a_batch_with_one_failed_delivery_raises(settings: Settings) -> None:
    topic = f"{settings.topic_prefix}good"
    create_topic(settings.kafka_bootstrap, topic, 1)
    good = Outgoing(topic, b"k", b"v", [])
    lost = Outgoing(f"{settings.topic_prefix}missing", b"k", b"v", [])

    async def scenario() -> None:
        config = {**producer_config(settings), "message.timeout.ms": 1500}
        producer = AsyncProducer(config)
        await producer.start()
        try:
            with pytest.raises(DeliveryError, match="missing"):
                await producer.send_all([good, lost, good])
        finally:
            await producer.stop(flush_seconds=3)

    asyncio.run(scenario())
