"""Kafka consumers of the demo: configured from the settings, patient with fresh topics."""

from __future__ import annotations

import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from streams.settings import Settings

# Topics created a moment ago may have no leader yet; give the broker this long to elect one.
_ATTEMPTS = 50
_PAUSE = 0.2
_NOT_READY = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
    }
)


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
            problem: KafkaError = error.args[0]
            if not (problem.retriable() or problem.code() in _NOT_READY):
                raise
        time.sleep(_PAUSE)
    return consumer.get_watermark_offsets(partition, timeout=timeout)
