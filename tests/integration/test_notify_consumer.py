"""``bonus notify`` against the real broker and Redis: once per event_id, webhook retries,
quiet hours held in Redis across a restart, and deadlines that cannot wait."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas import Duration, ExpiryWarning, Topic, WarnedLot, to_json_bytes, topic_name
from streams.clock import Clock, clock_from_settings
from streams.notify.channels import (
    MESSAGES_LOGGER,
    Channel,
    LogChannel,
    Notification,
    WebhookChannel,
)
from streams.notify.quiet import QuietHours
from streams.notify.service import Notifier, NotifyOptions
from streams.notify.store import NotifyStore
from streams.settings import Settings
from tests.redis_helpers import sync_client

from .kafka_helpers import create_topic, murmur2_producer, produce_all

FAR = datetime(2027, 1, 1, tzinfo=UTC)


def warning(event_id: str, customer_id: str, expires_at: datetime = FAR) -> ExpiryWarning:
    lot = WarnedLot(lot_id=f"lot-{event_id}", points=40, expires_at=expires_at)
    return ExpiryWarning(
        event_id=event_id,
        customer_id=customer_id,
        lead=Duration.parse("P1D"),
        points_expiring=40,
        expires_at=expires_at,
        lots=(lot,),
        balance=90,
    )


def publish(settings: Settings, bootstrap: str, warnings: list[ExpiryWarning]) -> None:
    topic = topic_name(settings.topic_prefix, Topic.EXPIRY_WARNINGS)
    records = [(w.customer_id, to_json_bytes(w)) for w in warnings]
    produce_all(murmur2_producer(bootstrap), topic, records)


def warnings_topic(settings: Settings, bootstrap: str) -> str:
    name = topic_name(settings.topic_prefix, Topic.EXPIRY_WARNINGS)
    create_topic(bootstrap, name, 2)
    return name


def wait_until(condition: Callable[[], bool], timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@contextmanager
def running(notifier: Notifier) -> Iterator[Notifier]:
    notifier.start()
    stop = threading.Event()
    worker = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
    worker.start()
    try:
        yield notifier
    finally:
        stop.set()
        worker.join(30)
        notifier.close()


def committed(settings: Settings, group: str, topic: str) -> int:
    """The sum of the group's committed offsets over the topic's two partitions."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group})
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=10)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in offsets)


def notifier(
    settings: Settings,
    channel: Channel,
    clock: Clock | None = None,
    *,
    quiet: QuietHours | None = None,
    retry_pause: float = 5.0,
) -> Notifier:
    options = NotifyOptions(
        group=settings.consumer_group,
        template="{points_expiring} pts",
        quiet=quiet,
        retry_pause=retry_pause,
    )
    return Notifier(settings, options, channel, clock or clock_from_settings(settings))


def test_the_log_channel_says_each_event_once_even_across_a_restart(
    settings: Settings, kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=MESSAGES_LOGGER)
    topic = warnings_topic(settings, kafka_bootstrap)
    first = [warning(f"w{n}", f"c{n}") for n in range(4)]
    publish(settings, kafka_bootstrap, [*first, first[0], first[2], first[0]])

    def said() -> list[dict[str, object]]:
        return [json.loads(r.getMessage()) for r in caplog.records if r.name == MESSAGES_LOGGER]

    with running(notifier(settings, LogChannel())) as subject:
        wait_until(lambda: subject.handler.counts["duplicate"] == 3)
        wait_until(lambda: committed(settings, settings.consumer_group, topic) == 7)
    lines = said()
    assert sorted(str(line["event_id"]) for line in lines) == ["w0", "w1", "w2", "w3"]
    assert {line["message"] for line in lines} == {"40 pts"}
    assert lines[0]["expires_at"] == "2027-01-01T00:00:00Z"

    # The relay replays w1 after the notifier restarted: still nothing new is said.
    publish(settings, kafka_bootstrap, [first[1], warning("w9", "c9")])
    with running(notifier(settings, LogChannel())) as subject:
        wait_until(lambda: subject.handler.counts["sent"] == 1)
        wait_until(lambda: subject.handler.counts["duplicate"] == 1)
    assert sorted(str(line["event_id"]) for line in said()) == ["w0", "w1", "w2", "w3", "w9"]


@dataclass
class Receiver:
    """A webhook receiver that answers 500 to the first ``failures`` requests."""

    failures: int
    bodies: list[dict[str, object]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@contextmanager
def webhook_server(receiver: Receiver) -> Iterator[str]:
    class Handle(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            receiver.bodies.append(json.loads(self.rfile.read(length)))
            receiver.keys.append(self.headers.get("Idempotency-Key"))
            status = 500 if len(receiver.statuses) < receiver.failures else 204
            receiver.statuses.append(status)
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/notify"
    finally:
        server.shutdown()
        server.server_close()


def test_the_webhook_retries_500s_and_holds_the_offset_until_delivered(
    settings: Settings, kafka_bootstrap: str
) -> None:
    topic = warnings_topic(settings, kafka_bootstrap)
    publish(settings, kafka_bootstrap, [warning("w1", "c1")])
    # Two attempts per try: 500, 500 (offset rewound), then 500, 204.
    receiver = Receiver(failures=3)
    with webhook_server(receiver) as url:
        channel = WebhookChannel(url, timeout=5, attempts=2, backoff=0.05)
        with running(notifier(settings, channel, retry_pause=0.3)) as subject:
            wait_until(lambda: subject.handler.counts["sent"] == 1)
            assert subject.handler.counts["failed"] == 1
            wait_until(lambda: committed(settings, settings.consumer_group, topic) == 1)
    assert receiver.statuses == [500, 500, 500, 204]
    assert receiver.keys == ["w1"] * 4
    assert receiver.bodies[-1] == {
        "event_id": "w1",
        "customer_id": "c1",
        "message": "40 pts",
        "points_expiring": 40,
        "expires_at": "2027-01-01T00:00:00Z",
        "lead": "P1D",
        "balance": 90,
    }


@dataclass
class Stamped:
    """Records the service time of every delivery."""

    clock: Clock
    name: str = "stamped"
    seen: dict[str, datetime] = field(default_factory=dict)

    def deliver(self, notification: Notification) -> None:
        self.seen[notification.warning.event_id] = self.clock.now()


def test_quiet_hours_hold_in_redis_across_a_restart_unless_the_deadline_is_first(
    kafka_bootstrap: str, redis_url: str, settings: Settings
) -> None:
    # 07:50 UTC, one service minute per real second: quiet hours end 10 real seconds from now.
    start = datetime(2026, 12, 4, 7, 50, tzinfo=UTC)
    morning = start.replace(hour=8, minute=0)
    scaled = settings.model_copy(
        update={"clock_start": start, "clock_speed": 60.0, "clock_anchor": time.time()}
    )
    clock = clock_from_settings(scaled)
    warnings_topic(scaled, kafka_bootstrap)
    quiet = QuietHours.parse("22:00-08:00", UTC)
    urgent = warning("urgent", "c1", expires_at=start + timedelta(minutes=9))
    patient = warning("patient", "c2")
    publish(scaled, kafka_bootstrap, [patient, urgent])
    channel = Stamped(clock)
    store = NotifyStore(sync_client(redis_url), scaled.redis_key_prefix, scaled.consumer_group)

    with running(notifier(scaled, channel, clock, quiet=quiet)) as subject:
        wait_until(lambda: subject.handler.counts["held"] == 1 and "urgent" in channel.seen)
    assert channel.seen["urgent"] < morning
    assert "patient" not in channel.seen
    assert store.held() == {"patient": int(morning.timestamp() * 1000)}
    assert clock.now() < morning, "the test machine was too slow to see the quiet period"

    # A new process (same group) finds the held warning in Redis and sends it at 08:00.
    with running(notifier(scaled, channel, clock, quiet=quiet)):
        wait_until(lambda: "patient" in channel.seen)
    assert morning <= channel.seen["patient"] < morning + timedelta(minutes=1)
    assert store.held() == {}
