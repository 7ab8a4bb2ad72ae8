"""Run real ``bonus worker`` subprocesses against the real broker and Redis, and watch outputs.

A :class:`Pipeline` owns one namespace (topic prefix, consumer group, Redis key prefix), one
rules file and one scaled clock shared by the test and its workers; an :class:`OutputWatcher`
reads every output topic from the beginning in a thread, so that tests wait for what they
expect with tight timeouts instead of sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer

from schemas import OUTPUT_TOPICS, Topic, topic_name
from streams.clock import ScaledClock, SystemClock
from streams.kafka.admin import create_topics
from streams.redis_clients import sync_redis
from streams.settings import Settings
from tests.integration.kafka_helpers import drop_topics
from tests.redis_helpers import delete_prefix

ROOT = Path(__file__).resolve().parents[2]
BONUS = str(Path(sys.executable).with_name("bonus"))
CLOCK_START = datetime(2026, 12, 1, tzinfo=UTC)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _headers(raw: Any) -> dict[str, bytes]:
    items = raw.items() if isinstance(raw, dict) else raw or []
    return {k: v.encode() if isinstance(v, str) else bytes(v or b"") for k, v in items}


@dataclass
class Output:
    """One consumed output message."""

    topic: Topic
    key: str | None
    value: dict[str, Any]
    headers: dict[str, bytes]
    timestamp_ms: int


@dataclass
class OutputWatcher:
    """Every output message of a namespace, read in a background thread."""

    bootstrap: str
    prefix: str
    # Extra librdkafka settings (security.protocol, sasl.*, ssl.*) for a secure broker.
    client: dict[str, Any] = field(default_factory=dict)
    messages: list[Output] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Subscribe to every output topic and start reading."""
        names = {topic_name(self.prefix, t): t for t in OUTPUT_TOPICS}
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"watch-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "topic.metadata.refresh.interval.ms": 1000,
                **self.client,
            }
        )
        consumer.subscribe(list(names))

        def read() -> None:
            try:
                while not self._stop.is_set():
                    message = consumer.poll(0.2)
                    if message is None or message.error() is not None:
                        continue
                    raw_key = message.key()
                    output = Output(
                        topic=names[str(message.topic())],
                        key=raw_key.decode(errors="replace")
                        if isinstance(raw_key, bytes)
                        else None,
                        value=json.loads(message.value() or b"null"),
                        headers=_headers(message.headers()),
                        timestamp_ms=message.timestamp()[1],
                    )
                    with self._lock:
                        self.messages.append(output)
            finally:
                consumer.close()

        self._thread = threading.Thread(target=read, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def of(self, topic: Topic, customer_id: str | None = None) -> list[Output]:
        """The messages of ``topic`` so far (of one customer when given)."""
        with self._lock:
            found = [m for m in self.messages if m.topic == topic]
        return [m for m in found if customer_id is None or m.key == customer_id]

    def wait(
        self,
        topic: Topic,
        check: Callable[[list[Output]], bool],
        timeout: float,
        customer_id: str | None = None,
    ) -> list[Output]:
        """Wait until ``check`` holds for the messages of ``topic``; fail after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(topic, customer_id)
            if check(found):
                return found
            time.sleep(0.1)
        found = self.of(topic, customer_id)
        raise AssertionError(
            f"{topic} of {customer_id}: condition not met in {timeout}s; got "
            + json.dumps([m.value for m in found], indent=1)[:4000]
        )

    def count(
        self, topic: Topic, n: int, timeout: float, customer_id: str | None = None
    ) -> list[Output]:
        """Wait until at least ``n`` messages of ``topic`` arrived."""
        return self.wait(topic, lambda found: len(found) >= n, timeout, customer_id)


@dataclass
class Worker:
    """One ``bonus worker`` subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log(self) -> str:
        """The tail of its log."""
        return self.log_path.read_text(errors="replace")[-6000:]

    def get(self, path: str) -> tuple[int, bytes]:
        """``GET path`` on its web port: (status, body)."""
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return int(reply.status), bytes(reply.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    def get_json(self, path: str) -> tuple[int, Any]:
        """``GET path`` and parse the JSON body."""
        status, body = self.get(path)
        return status, json.loads(body)

    def wait_healthy(self, timeout: float = 60) -> None:
        """Wait until ``/healthz`` answers 200 (fails early if the process died)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"worker exited:\n{self.log()}"
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"worker not healthy in {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait; SIGKILL if it hangs. The exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


class Pipeline:
    """A namespace with its topics, rules, clock, workers and output watcher."""

    def __init__(
        self,
        kafka_bootstrap: str,
        redis_url: str,
        rules: str,
        workdir: Path,
        speed: float,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """``extra_env``: more ``BONUS_*`` variables, for the test's clients and the workers."""
        tag = uuid.uuid4().hex[:10]
        self.extra_env = dict(extra_env or {})
        extra = {key.removeprefix("BONUS_").lower(): v for key, v in self.extra_env.items()}
        own: dict[str, Any] = {
            "kafka_bootstrap": kafka_bootstrap,
            "redis_url": redis_url,
            "topic_prefix": f"e{tag}.",
            "redis_key_prefix": f"e{tag}:",
            "consumer_group": f"e2e-{tag}",
            "partitions": 4,
        }
        self.settings = Settings(**{**extra, **own})
        # The connection settings of a secure broker, for the test's own clients.
        self.client = {
            key: value
            for key, value in self.settings.kafka_config().items()
            if key.startswith(("security.", "sasl.", "ssl."))
        }
        self.workdir = workdir
        self.rules_path = workdir / "rules.yaml"
        self.rules_path.write_text(rules)
        anchor = SystemClock().now_ms() / 1000
        self.clock = ScaledClock(CLOCK_START, speed, anchor)
        self.speed = speed
        self.workers: list[Worker] = []
        create_topics(self.settings)
        self.watcher = OutputWatcher(kafka_bootstrap, self.settings.topic_prefix, self.client)
        self.watcher.start()
        self.producer = Producer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "partitioner": "murmur2_random",
                "enable.idempotence": True,
                "acks": "all",
                **self.client,
            }
        )

    def env(self, port: int) -> dict[str, str]:
        """The environment of a worker of this pipeline."""
        s = self.settings
        return {
            **os.environ,
            "BONUS_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "BONUS_REDIS_URL": s.redis_url,
            "BONUS_TOPIC_PREFIX": s.topic_prefix,
            "BONUS_REDIS_KEY_PREFIX": s.redis_key_prefix,
            "BONUS_CONSUMER_GROUP": s.consumer_group,
            "BONUS_RULES_FILE": str(self.rules_path),
            "BONUS_WEB_PORT": str(port),
            "BONUS_CLOCK_START": CLOCK_START.isoformat(),
            "BONUS_CLOCK_SPEED": str(self.speed),
            "BONUS_CLOCK_ANCHOR": repr(self.clock.anchor),
            "BONUS_LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def start_worker(self) -> Worker:
        """Start one more worker (not waiting for it)."""
        port = free_port()
        log_path = self.workdir / f"worker-{len(self.workers)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [BONUS, "worker"],
                env=self.env(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        worker = Worker(process, port, log_path)
        self.workers.append(worker)
        return worker

    def now(self) -> datetime:
        """The service time, as the workers see it, in whole milliseconds (as the ledger keeps)."""
        return datetime.fromtimestamp(self.clock.now_ms() / 1000, UTC)

    def send(self, topic: Topic, key: str | None, value: dict[str, Any] | bytes) -> None:
        """Produce one input and wait for its delivery."""
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        self.producer.produce(
            topic_name(self.settings.topic_prefix, topic),
            key=key.encode() if key is not None else None,
            value=raw,
        )
        assert self.producer.flush(30) == 0

    def close(self) -> None:
        """Stop every worker and the watcher; delete the namespace's topics and Redis keys."""
        for worker in self.workers:
            worker.stop()
        self.watcher.stop()
        drop_topics(self.settings.kafka_bootstrap, self.settings.topic_prefix, client=self.client)
        # The same client settings as the workers' (cluster, TLS, ACL user).
        redis = sync_redis(self.settings)
        try:
            delete_prefix(redis, self.settings.redis_key_prefix)
        finally:
            redis.close()


def iso(moment: datetime) -> str:
    """RFC 3339 with ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def service_time(pipeline: Pipeline, timestamp_ms: int) -> datetime:
    """The service time at which a message with this Kafka timestamp (real ms) was produced."""
    elapsed = (timestamp_ms / 1000 - pipeline.clock.anchor) * pipeline.speed
    return CLOCK_START + timedelta(seconds=elapsed)


def purchase(
    event_id: str, customer: str, amount: str, at: datetime, order: str | None = None
) -> dict[str, Any]:
    """A Purchase payload."""
    return {
        "event_id": event_id,
        "occurred_at": iso(at),
        "customer_id": customer,
        "order_id": order or f"o-{event_id}",
        "amount": amount,
        "currency": "RUB",
        "channel": "pos",
    }


def started(pipeline: Pipeline, count: int = 1) -> Iterator[Pipeline]:
    """Start ``count`` workers, wait until healthy, yield, close (a fixture body)."""
    try:
        for _ in range(count):
            pipeline.start_worker()
        for worker in pipeline.workers:
            worker.wait_healthy()
        yield pipeline
    finally:
        pipeline.close()
