"""BonusProducer against the real broker: topics, keys, partitions, headers, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas import (
    AppInstall,
    CampaignLaunch,
    InvalidEvent,
    Purchase,
    Topic,
    decode_input,
    topic_name,
)
from streams.client import BonusProducer, DeliveryReport
from streams.partitioning import partition_for
from streams.settings import Settings

from .kafka_helpers import consume, create_topic

PARTITIONS = 4
AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def purchase(number: int) -> Purchase:
    return Purchase(
        event_id=f"p-{number}",
        occurred_at=AT,
        customer_id=f"guest-{number}",
        order_id=f"o-{number}",
        amount=Decimal("120.50"),
        currency="EUR",
        channel="pos",
    )


def test_events_land_on_their_topic_partition_and_headers(
    settings: Settings, kafka_bootstrap: str, consumer_group: str
) -> None:
    for topic in (Topic.PURCHASES, Topic.APP_INSTALLS, Topic.CAMPAIGNS):
        create_topic(kafka_bootstrap, topic_name(settings.topic_prefix, topic), PARTITIONS)
    reports: list[DeliveryReport] = []
    purchases = [purchase(n) for n in range(20)]
    with BonusProducer(settings, source="urn:test:pos") as producer:
        for event in purchases:
            producer.send(event, on_delivery=reports.append)
        install = producer.send(
            {
                "event_id": "a-1",
                "occurred_at": "2026-12-03T13:00:00+03:00",
                "customer_id": "guest-3",
                "app": "telegram-bot",
            },
            topic=Topic.APP_INSTALLS,
            on_delivery=reports.append,
        )
        launch = CampaignLaunch.model_validate(
            {
                "event_id": "l-1",
                "occurred_at": AT,
                "campaign_id": "winter",
                "segment": "vip",
                "points": 100,
                "valid_for": "P7D",
            }
        )
        producer.send(launch, on_delivery=reports.append)
        assert producer.flush(30) == 0
    assert isinstance(install, AppInstall)
    assert producer.stats.sent == producer.stats.total_delivered == 22
    assert producer.stats.delivered == {"purchases": 20, "app-installs": 1, "campaigns": 1}
    assert producer.stats.total_failed == 0

    assert len(reports) == 22
    for report in reports:
        assert report.ok
        assert report.key is not None
        assert report.partition == partition_for(report.key, PARTITIONS)
    assert {r.event_id for r in reports} == {e.event_id for e in purchases} | {"a-1", "l-1"}

    name = topic_name(settings.topic_prefix, Topic.PURCHASES)
    messages = consume(kafka_bootstrap, name, consumer_group, len(purchases))
    by_id = {event.event_id: event for event in purchases}
    for message in messages:
        event = decode_input(Topic.PURCHASES, message.value() or b"")
        assert event == by_id[event.event_id]
        assert message.key() == event.customer_id.encode()
        assert message.partition() == partition_for(event.customer_id, PARTITIONS)
        headers = dict(message.headers() or [])
        assert headers == {
            "ce_specversion": b"1.0",
            "ce_id": event.event_id.encode(),
            "ce_type": b"bonus.purchase",
            "ce_source": b"urn:test:pos",
            "ce_time": b"2026-12-03T10:00:00Z",
            "content-type": b"application/json",
        }
    (launched,) = consume(
        kafka_bootstrap, topic_name(settings.topic_prefix, Topic.CAMPAIGNS), consumer_group + "c", 1
    )
    assert launched.key() == b"winter"
    assert dict(launched.headers() or [])["ce_type"] == b"bonus.campaign_launch"


def test_invalid_events_are_refused_before_sending(
    settings: Settings, kafka_bootstrap: str, consumer_group: str
) -> None:
    name = topic_name(settings.topic_prefix, Topic.PURCHASES)
    create_topic(kafka_bootstrap, name, PARTITIONS)
    with BonusProducer(settings) as producer:
        with pytest.raises(InvalidEvent, match="amount"):
            producer.send(
                {**purchase(1).model_dump(mode="json"), "amount": "-3"}, topic=Topic.PURCHASES
            )
        with pytest.raises(InvalidEvent, match="not JSON"):
            producer.send(b"{oops", topic=Topic.PURCHASES)
        with pytest.raises(ValueError, match="give topic="):
            producer.send({"event_id": "x"})
        assert producer.stats.sent == 0
        producer.send(purchase(2))
        assert producer.flush(30) == 0
    # Only the valid one arrived.
    (only,) = consume(kafka_bootstrap, name, consumer_group, 1)
    assert decode_input(Topic.PURCHASES, only.value() or b"").event_id == "p-2"


def test_a_failed_delivery_is_reported_and_counted(settings: Settings) -> None:
    # No topic exists under this prefix and the broker creates none: delivery must fail.
    reports: list[DeliveryReport] = []
    producer = BonusProducer(settings, config={"message.timeout.ms": 2000})
    with pytest.raises(RuntimeError, match="start"):
        producer.send(purchase(1))
    with producer:
        producer.send(purchase(1), on_delivery=reports.append, label="till-7")
        assert producer.flush(30) == 0
    assert producer.stats.failed == {"till-7": 1}
    assert producer.stats.total_delivered == 0
    assert producer.stats.last_error is not None
    (report,) = reports
    assert not report.ok
    assert report.partition is None
    assert report.event_id == "p-1"
