"""The demo against the real broker: what the publisher writes, what the live view reads."""

from __future__ import annotations

import io
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, Message

from schemas import (
    CUSTOMER_TOPICS,
    INPUT_TOPICS,
    BonusAccrued,
    Duration,
    RedemptionResult,
    Topic,
    decode_input,
    to_json_bytes,
    topic_name,
)
from streams.client import BonusProducer
from streams.clock import ScaledClock
from streams.demo.population import build_population
from streams.demo.progress import LAGGING, Progress
from streams.demo.publisher import demo_producer, publish
from streams.demo.run import Demo, DemoOptions
from streams.demo.traffic import SOURCE, Outgoing, plan_traffic
from streams.kafka.admin import create_topics
from streams.partitioning import partition_for
from streams.rules.loader import load_rules
from streams.settings import Settings

from .kafka_helpers import consume, murmur2_producer, produce_all

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "deploy/rules.example.yaml")
START = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
INPUTS = [t for t in INPUT_TOPICS if t in CUSTOMER_TOPICS]


def publish_all(settings: Settings, timeline: list[Outgoing]) -> BonusProducer:
    producer = demo_producer(settings)
    producer.start()
    for message in timeline:
        publish(producer, message)
    assert producer.close() == 0
    return producer


def test_the_publisher_keys_partitions_and_labels_every_message(settings: Settings) -> None:
    create_topics(settings)
    timeline = plan_traffic(build_population(5, 12), RULES, START, timedelta(days=3), 5)
    producer = publish_all(settings, timeline)
    assert producer.stats.total_failed == 0
    assert producer.stats.total_delivered == len(timeline) == producer.stats.sent

    for topic in INPUTS:
        expected = [m for m in timeline if m.topic is topic]
        if not expected:
            continue
        name = topic_name(settings.topic_prefix, topic)
        read = consume(
            settings.kafka_bootstrap, name, f"{settings.consumer_group}-{topic}", len(expected)
        )
        per_key: dict[str, list[bytes]] = defaultdict(list)
        for message in read:
            key = (message.key() or b"").decode()
            assert message.partition() == partition_for(key, settings.partitions), key
            headers = dict(message.headers() or [])
            assert headers["ce_specversion"] == b"1.0"
            assert headers["content-type"] == b"application/json"
            assert headers["ce_source"] == SOURCE.encode()
            per_key[key].append(message.value() or b"")
        wanted: dict[str, list[bytes]] = defaultdict(list)
        for planned in expected:
            wanted[planned.key].append(planned.value)
        # Each guest's messages arrive complete and in the order they were planned.
        assert per_key == wanted
    assert {m.topic for m in timeline} <= set(INPUTS)


def test_the_live_view_counts_outputs_and_measures_the_workers_lag(settings: Settings) -> None:
    create_topics(settings)
    progress = Progress(settings, customers={"vip-1"})
    progress.start()
    try:
        accrued = [
            BonusAccrued(
                event_id=f"a{n}",
                customer_id=customer,
                lot_id=f"l{n}",
                points=10 * n,
                rule_id="cashback-5",
                source_event_id=f"p{n}",
                issued_at=START,
                activates_at=START,
                expires_at=START + timedelta(days=14),
            )
            for n, customer in enumerate(["vip-1", "stranger", "vip-1"], start=1)
        ]
        producer = murmur2_producer(settings.kafka_bootstrap)
        accruals = topic_name(settings.topic_prefix, Topic.ACCRUALS)
        produce_all(producer, accruals, [(a.customer_id, to_json_bytes(a)) for a in accrued])
        purchases = topic_name(settings.topic_prefix, Topic.PURCHASES)
        produce_all(producer, purchases, [(f"c{n}", b"{}") for n in range(5)])

        deadline = time.monotonic() + 30
        while progress.tally.accrued_lots < 2 and time.monotonic() < deadline:
            progress.poll()
            time.sleep(0.1)
        assert (progress.tally.accrued, progress.tally.accrued_lots) == (40, 2)
        assert progress.measure_lag() == 5

        # The workers' group reads and commits everything: no lag left.
        drain_group(settings, 5)
        assert progress.measure_lag() == 0
    finally:
        progress.close()


def drain_group(settings: Settings, count: int, stop: threading.Event | None = None) -> int:
    """Consume the demo's inputs in the workers' group and commit, as a worker would; answer
    each redemption (rejected) so that the demo sees every request answered."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": settings.consumer_group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    producer = murmur2_producer(settings.kafka_bootstrap)
    results = topic_name(settings.topic_prefix, Topic.REDEMPTION_RESULTS)
    requests = topic_name(settings.topic_prefix, Topic.REDEMPTIONS)
    consumer.subscribe([topic_name(settings.topic_prefix, t) for t in LAGGING])
    seen = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and (seen < count if stop is None else not stop.is_set()):
            message: Message | None = consumer.poll(0.2)
            if message is None or message.error() is not None:
                continue
            if message.topic() == requests:
                request = decode_input(Topic.REDEMPTIONS, message.value() or b"")
                answer = RedemptionResult(
                    event_id=f"answer-{request.event_id}",
                    customer_id=request.customer_id,
                    request_event_id=request.event_id,
                    order_id=request.order_id,
                    status="rejected",
                    points_requested=request.points,
                    points_redeemed=0,
                    reason="insufficient_balance",
                    balance_after=0,
                )
                producer.produce(results, key=message.key(), value=to_json_bytes(answer))
                producer.flush(10)
            consumer.commit(message=message, asynchronous=False)
            seen += 1
    finally:
        consumer.close()
    return seen


def test_a_short_demo_runs_to_the_end_and_waits_for_the_workers(settings: Settings) -> None:
    create_topics(settings)
    stop = threading.Event()
    consumed: list[int] = []
    worker = threading.Thread(target=lambda: consumed.append(drain_group(settings, 0, stop)))
    worker.start()
    try:
        # Two simulated days in about two real seconds.
        clock = ScaledClock(START, speed=86_400, anchor=time.time())
        options = DemoOptions(
            duration=Duration(days=2),
            customers=15,
            seed=3,
            quiet=1.0,
            drain_timeout=60,
        )
        out = io.StringIO()
        result = Demo(settings, clock, RULES, options, out).run()
    finally:
        stop.set()
        worker.join(30)
    text = out.getvalue()
    assert result.exit_code == 0, text
    assert result.drained
    assert result.failed == 0
    assert consumed == [result.published]
    assert "Demo finished" in text
    assert "input lag                    0" in text
    assert "had not caught up" not in text
    assert f"http://127.0.0.1:{settings.web_port}/customers/" in text
    assert topic_name(settings.topic_prefix, Topic.DLQ) in text
