"""Publishes the demo's messages like a point-of-sale system would, through the integration
kit's :class:`~streams.client.BonusProducer`: keyed by customer, Kafka's Java partitioner,
idempotent and fully acknowledged, every delivery counted by message kind.

The demo uses ``send_raw`` (no validation) on purpose: some of its messages are deliberate
mistakes that must reach the dead-letter topic.
"""

from __future__ import annotations

from streams.client import BonusProducer
from streams.demo.traffic import SOURCE, Outgoing
from streams.settings import Settings


def demo_producer(settings: Settings) -> BonusProducer:
    """The producer of the demo's traffic (no network before ``start()``)."""
    return BonusProducer(settings, client_id="bonus-demo", source=SOURCE)


def publish(producer: BonusProducer, message: Outgoing) -> None:
    """Queue ``message`` on its topic, keyed by its guest; its kind labels the delivery count."""
    producer.send_raw(
        message.topic,
        message.key,
        message.value,
        headers=message.headers(),
        event_id=message.event_id,
        label=message.kind,
    )
