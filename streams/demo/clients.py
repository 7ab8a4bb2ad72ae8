"""Kafka consumers of the demo: configured from the settings, patient with fresh topics."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.settings import Settings

# Topics created a moment ago may have no leader yet; give the broker this long to elect one.
_ATTEMPTS = 50
_PAUSE = 0.2


def reader(settings: Settings, client_id: str) -> Consumer:
    """A consumer that joins no group and commits nothing (it is assigned partitions)."""
    config: dict[str, Any] = settings.kafka_config(
        **{
            "client.id": client_id,
            # librdkafka insists on a group id even for assign(); this one is never joined.
            "group.id": f"{client_id}-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )
    config.pop("partitioner", None)  # a producer property; consumers warn about it
    return Consumer(config)


def watermarks(
    consumer: Consumer, partition: TopicPartition, timeout: float, attempts: int = _ATTEMPTS
) -> tuple[int, int]:
    """``(low, high)`` of ``partition``, retrying while a fresh topic elects its leader."""
    for _ in range(attempts - 1):
        try:
            return consumer.get_watermark_offsets(partition, timeout=timeout)
        except KafkaException as error:
            if not error.args[0].retriable():
                raise
        time.sleep(_PAUSE)
    return consumer.get_watermark_offsets(partition, timeout=timeout)
