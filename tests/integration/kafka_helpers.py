"""Small helpers for tests that talk to the real broker: topics, produce, consume."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    """Create ``name`` and wait until the broker knows it."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topic = admin.list_topics(name, timeout=10).topics.get(name)
        if topic is not None and topic.error is None and len(topic.partitions) == partitions:
            return
        time.sleep(0.2)
    raise AssertionError(f"topic {name} did not appear")


def murmur2_producer(bootstrap: str) -> Producer:
    """An idempotent producer with Kafka's Java partitioner, as every producer of ours."""
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "enable.idempotence": True,
            "acks": "all",
        }
    )


def produce_all(producer: Producer, topic: str, records: Iterable[tuple[str, bytes]]) -> None:
    """Produce every (key, value) and wait for every delivery; fail on any delivery error."""
    errors: list[str] = []

    def delivered(error: object, _msg: Message) -> None:
        if error is not None:
            errors.append(str(error))

    for key, value in records:
        producer.produce(topic, key=key.encode(), value=value, on_delivery=delivered)
        producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, errors


def consume(
    bootstrap: str, topic: str, group: str, count: int, timeout: float = 60
) -> list[Message]:
    """Read ``count`` messages of ``topic`` from the beginning (fails after ``timeout`` s)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                raise KafkaException(message.error())
            messages.append(message)
    finally:
        consumer.close()
    assert len(messages) == count, f"read {len(messages)} of {count} messages from {topic}"
    return messages


def drop_topics(
    bootstrap: str, prefix: str, timeout: float = 30, client: dict[str, Any] | None = None
) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (a test's own namespace).

    ``client``: more librdkafka settings (a secure broker's security.protocol, sasl.*, ssl.*).

    A broker keeps every partition's preallocated indexes on disk until its topic is deleted:
    tests that leave their topics behind fill the disk over a long run.
    """
    if not prefix or prefix.startswith("__"):
        raise ValueError("refusing to delete topics without a test's own prefix")
    admin = AdminClient({"bootstrap.servers": bootstrap, **(client or {})})
    names = [name for name in admin.list_topics(timeout=timeout).topics if name.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=timeout).values():
            try:
                future.result(timeout=timeout)
            except KafkaException as error:
                if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise
    return names
