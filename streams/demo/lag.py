"""How far the workers' consumer group is behind on the input topics.

Lag is the sum over partitions of ``high watermark - committed offset``; a partition the group
has never committed counts from its low watermark (everything there is still to be read).
The group is only looked at (admin API, watermarks), never joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas import Topic, topic_name
from streams.demo.clients import reader, watermarks
from streams.settings import Settings

Watermarks = dict[tuple[str, int], tuple[int, int]]


@dataclass
class GroupLag:
    """Measures the lag of ``settings.consumer_group`` on ``topics``; ``None`` when unknown."""

    settings: Settings
    topics: Sequence[Topic]
    timeout: float = 5.0

    def __post_init__(self) -> None:
        self._admin: AdminClient | None = None
        self._consumer: Consumer | None = None
        self._partitions: list[TopicPartition] = []

    def start(self) -> None:
        """Connect and learn the partitions of the topics."""
        self._admin = AdminClient(self.settings.kafka_config(**{"client.id": "bonus-demo-lag"}))
        self._consumer = reader(self.settings, "bonus-demo-lag")
        names = [topic_name(self.settings.topic_prefix, topic) for topic in self.topics]
        metadata = self._admin.list_topics(timeout=self.timeout).topics
        self._partitions = [
            TopicPartition(name, number)
            for name in names
            if name in metadata
            for number in sorted(metadata[name].partitions)
        ]

    def measure(self) -> int | None:
        """The group's total lag now, or None if the broker did not answer in time."""
        if self._admin is None or self._consumer is None or not self._partitions:
            return None
        try:
            marks = {
                (tp.topic, tp.partition): watermarks(self._consumer, tp, self.timeout, attempts=1)
                for tp in self._partitions
            }
            committed = self._committed(self._admin)
        except KafkaException:
            return None
        return lag_of(marks, committed)

    def close(self) -> None:
        """Close the clients."""
        if self._consumer is not None:
            self._consumer.close()
        self._consumer = None
        self._admin = None

    def _committed(self, admin: AdminClient) -> dict[tuple[str, int], int]:
        group = self.settings.consumer_group
        request = [ConsumerGroupTopicPartitions(group, list(self._partitions))]
        answer = admin.list_consumer_group_offsets(request, request_timeout=self.timeout)
        result = answer[group].result()
        return {(tp.topic, tp.partition): int(tp.offset) for tp in result.topic_partitions or ()}


def lag_of(marks: Watermarks, committed: dict[tuple[str, int], int]) -> int:
    """Total lag; a missing or negative (never committed) offset counts from the low mark."""
    total = 0
    for partition, (low, high) in marks.items():
        position = committed.get(partition, -1)
        if position < 0:
            position = low
        total += max(0, high - position)
    return total
