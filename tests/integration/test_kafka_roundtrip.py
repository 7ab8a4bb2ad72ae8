"""A real round trip through the broker with Kafka's Java (murmur2) partitioner."""

from __future__ import annotations

from streams.partitioning import partition_for

from .kafka_helpers import consume, create_topic, murmur2_producer, produce_all

PARTITIONS = 6


def test_murmur2_producer_puts_each_customer_on_the_partition_the_ledger_expects(
    kafka_bootstrap: str, topic_prefix: str, consumer_group: str
) -> None:
    topic = f"{topic_prefix}purchases"
    create_topic(kafka_bootstrap, topic, PARTITIONS)
    customers = [f"customer-{n}" for n in range(60)] + ["", "ü-ñ-数", "a" * 128]
    records = [(customer, f'{{"n": {n}}}'.encode()) for n, customer in enumerate(customers)]

    produce_all(murmur2_producer(kafka_bootstrap), topic, records)
    messages = consume(kafka_bootstrap, topic, consumer_group, len(records))

    seen = {}
    for message in messages:
        key = (message.key() or b"").decode()
        assert message.partition() == partition_for(key, PARTITIONS), key
        seen[key] = message.value()
    assert seen == dict(records)
    # The customers really spread over the partitions (the test would be weak otherwise).
    assert len({message.partition() for message in messages}) == PARTITIONS


def test_order_is_kept_per_customer(
    kafka_bootstrap: str, topic_prefix: str, consumer_group: str
) -> None:
    topic = f"{topic_prefix}redemptions"
    create_topic(kafka_bootstrap, topic, PARTITIONS)
    records = [(f"c{n % 5}", f"{n}".encode()) for n in range(200)]

    produce_all(murmur2_producer(kafka_bootstrap), topic, records)
    messages = consume(kafka_bootstrap, topic, consumer_group, len(records))

    per_customer: dict[str, list[int]] = {}
    for message in messages:
        per_customer.setdefault((message.key() or b"").decode(), []).append(
            int(message.value() or b"")
        )
    assert all(values == sorted(values) for values in per_customer.values())
    assert sum(len(values) for values in per_customer.values()) == 200
