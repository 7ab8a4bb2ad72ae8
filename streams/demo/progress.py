"""Watches the output topics and the workers' lag while the demo runs.

The consumer reads every output topic from where it ended when the demo started (assigned,
not subscribed: it joins no group and commits nothing), and feeds a :class:`Tally`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from schemas import CUSTOMER_TOPICS, INPUT_TOPICS, OUTPUT_TOPICS, Topic, topic_name
from streams.demo.clients import reader, watermarks
from streams.demo.errors import DemoError
from streams.demo.lag import GroupLag
from streams.demo.tally import Tally
from streams.settings import Settings

# The outputs the live view counts (metrics windows are aggregates of the same facts).
WATCHED: tuple[Topic, ...] = tuple(t for t in OUTPUT_TOPICS if t is not Topic.METRICS)
# The inputs whose lag tells whether the workers have caught up with the demo.
LAGGING: tuple[Topic, ...] = tuple(t for t in INPUT_TOPICS if t in CUSTOMER_TOPICS)


@dataclass
class Progress:
    """Output totals and consumer lag; ``start`` connects, ``poll`` reads what has arrived."""

    settings: Settings
    customers: Collection[str] | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        self.tally = Tally(self.customers)
        self.lag: int | None = None
        self._group_lag = GroupLag(self.settings, LAGGING, timeout=self.timeout / 2)
        self._consumer: Consumer | None = None

    def start(self) -> None:
        """Connect; read the output topics from their current end."""
        consumer = reader(self.settings, "bonus-demo-view")
        metadata = consumer.list_topics(timeout=self.timeout).topics
        assignment = []
        for topic in WATCHED:
            name = topic_name(self.settings.topic_prefix, topic)
            if name not in metadata:
                raise DemoError(f"topic {name} does not exist: run `bonus topics create` first")
            for number in sorted(metadata[name].partitions):
                partition = TopicPartition(name, number)
                _, high = watermarks(consumer, partition, self.timeout)
                assignment.append(TopicPartition(name, number, high))
        consumer.assign(assignment)
        self._consumer = consumer
        self._group_lag.start()

    def poll(self, budget: int = 500) -> int:
        """Count up to ``budget`` output messages that have arrived; return how many were ours."""
        if self._consumer is None:
            return 0
        ours = 0
        for message in self._consumer.consume(budget, timeout=0):
            if message.error() is not None:
                continue  # partition EOF and transient errors: the consumer carries on
            if self.tally.record(message.key(), message.value()):
                ours += 1
        return ours

    def measure_lag(self) -> int | None:
        """Ask the broker for the workers' lag on the inputs; remember and return it."""
        self.lag = self._group_lag.measure()
        return self.lag

    def close(self) -> None:
        """Close the consumer and the lag clients."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        self._group_lag.close()
