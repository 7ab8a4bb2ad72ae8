"""One scenario's run: its pipeline, its workers, the waves, the faults, the measurements.

The service clock runs at speed 1 while the waves are applied (nothing warns or burns, so the
outcome of every input is fixed by the order of its own topic alone), then the workers are
stopped and new ones start on a sped-up clock that continues from the same instant: every lot
warns and burns within the next real seconds, while the scenario's faults go on.
"""

from __future__ import annotations

import json
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from confluent_kafka import Consumer, TopicPartition

from schemas import OUTPUT_TOPICS, Topic, topic_name
from streams.clock import ScaledClock, SystemClock
from streams.failpoints import NAMES
from tests.e2e.harness import Output, Pipeline, Worker
from tests.faults.model import Model
from tests.faults.observe import observed_effects
from tests.faults.workload import RULES, Sent

log = logging.getLogger(__name__)

# The service time at which every scenario's clock starts (06:00 UTC: no day boundary, so the
# daily warning cap never defers a warning).
START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
WAVE_KINDS = {
    Topic.PURCHASES: "accrued",
    Topic.REDEMPTIONS: "redemption",
    Topic.REFUNDS: "clawed_back",
}


class FaultPipeline(Pipeline):
    """The e2e harness' pipeline with a clock that can be sped up between phases."""

    def __init__(self, bootstrap: str, redis_url: str, workdir: Path) -> None:
        super().__init__(bootstrap, redis_url, RULES, workdir, 1.0)
        self.clock = ScaledClock(START, 1.0, SystemClock().now_ms() / 1000)
        self.failpoints = ""
        self.lock = threading.Lock()

    def env(self, port: int) -> dict[str, str]:
        """A worker's environment: the current clock, and failpoints when armed."""
        env = super().env(port)
        env["BONUS_CLOCK_START"] = self.clock.start.isoformat()
        env["BONUS_CLOCK_SPEED"] = repr(self.clock.speed)
        env["BONUS_CLOCK_ANCHOR"] = repr(self.clock.anchor)
        env["BONUS_FAILPOINTS"] = self.failpoints
        return env

    def speed_up(self, speed: float, skip_to: datetime | None = None) -> None:
        """From now on the clock runs ``speed`` times faster, continuing from its present (or
        from ``skip_to`` if that is later: no worker runs at this moment, nothing is due)."""
        anchor = SystemClock().now_ms() / 1000
        now_ms = self.clock.now_ms()
        start = datetime.fromtimestamp(now_ms / 1000, UTC)
        if skip_to is not None and skip_to > start:
            start = skip_to
        self.clock = ScaledClock(start, speed, anchor)
        self.speed = speed

    def start_worker(self) -> Worker:
        """Start one more worker (thread-safe: the supervisor starts replacements)."""
        with self.lock:
            return super().start_worker()


@dataclass
class Stats:
    """What happened to the workers and services during a run."""

    kills: int = 0
    crashes: int = 0  # workers that died on their own (failpoints) and were replaced
    unexpected_exits: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    started_workers: int = 0


class Run:
    """A pipeline on the suite's services, driven wave by wave."""

    def __init__(
        self,
        name: str,
        bootstrap: str,
        redis_url: str,
        workdir: Path,
        seed_value: int,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.pipeline = FaultPipeline(bootstrap, redis_url, workdir)
        self.redis_url = redis_url
        self.rng = random.Random(seed_value)
        self.model = Model()
        self.sent: list[tuple[Sent, str, int, int]] = []
        self.stats = Stats()
        self.respawn = False  # replace workers that die on their own (failpoint crashes)
        self.crash_budget = 0  # crashes after which replacements start without failpoints
        self.everysec = False  # its redis-server fsyncs the AOF every second only
        self.probes: list[dict[str, Any]] = []  # what redis-server restarts lost (scenario 4)
        self._killed: set[int] = set()
        self._handled: set[int] = set()
        self._stop = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    # --- workers ------------------------------------------------------------------------------

    def live(self) -> list[Worker]:
        """The workers that run now."""
        with self.pipeline.lock:
            return [w for w in self.pipeline.workers if w.process.poll() is None]

    def start_workers(self, count: int, timeout: float = 120) -> None:
        """Start ``count`` workers and wait until each is healthy."""
        started = [self.pipeline.start_worker() for _ in range(count)]
        self.stats.started_workers += count
        for worker in started:
            try:
                worker.wait_healthy(timeout)
            except AssertionError:
                # A failpoint may crash a worker as soon as it fires; the supervisor replaces it.
                if not (self.respawn and worker.process.returncode == -signal.SIGKILL):
                    raise

    def kill(self, worker: Worker) -> None:
        """kill -9 one worker."""
        self._killed.add(worker.process.pid)
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(10)
        self.stats.kills += 1

    def stop(self, worker: Worker) -> None:
        """SIGTERM one worker and wait until it is gone (a member leaving cleanly)."""
        self._killed.add(worker.process.pid)
        code = worker.stop(60)
        if code != 0:
            self.stats.unexpected_exits.append(f"worker stopped with status {code}")

    def stop_all(self) -> None:
        """Stop every worker cleanly."""
        for worker in self.live():
            self.stop(worker)

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            with self.pipeline.lock:
                workers = list(self.pipeline.workers)
            for worker in workers:
                pid = worker.process.pid
                if worker.process.poll() is None or pid in self._handled or pid in self._killed:
                    continue
                self._handled.add(pid)
                code = worker.process.returncode
                if self.respawn and code == -signal.SIGKILL:
                    self.stats.crashes += 1
                    if self.stats.crashes >= self.crash_budget:
                        self.pipeline.failpoints = ""
                    self.pipeline.start_worker()
                    self.stats.started_workers += 1
                    continue
                tail = worker.log()[-1500:]
                self.stats.unexpected_exits.append(f"worker exited with {code}: {tail}")
                log.error("%s: a worker exited with %s", self.name, code)
                if self.respawn:
                    self.pipeline.start_worker()

    # --- inputs -------------------------------------------------------------------------------

    def send(self, wave: list[Sent], seconds: float = 0.0) -> None:
        """Produce a wave, paced over ``seconds`` (so that faults strike while it is being
        applied), remembering where each message landed, and feed the model."""
        producer = self.pipeline.producer
        prefix = self.pipeline.settings.topic_prefix
        landed: list[tuple[Sent, str, int, int]] = []
        errors: list[str] = []

        def delivered(sent: Sent) -> Callable[[Any, Any], None]:
            def report(error: Any, message: Any) -> None:
                if error is not None:
                    errors.append(str(error))
                else:
                    landed.append((sent, message.topic(), message.partition(), message.offset()))

            return report

        began = time.monotonic()
        for n, sent in enumerate(wave):
            ahead = began + seconds * n / len(wave) - time.monotonic()
            if ahead > 0:
                producer.poll(ahead)
            self.model.apply(sent)
            name = topic_name(prefix, sent.topic)
            while True:
                try:
                    producer.produce(
                        name, key=sent.key, value=sent.value, on_delivery=delivered(sent)
                    )
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
        left = producer.flush(120)
        if left or errors:
            raise AssertionError(f"{left} messages undelivered, errors: {errors[:3]}")
        self.sent.extend(landed)

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``done`` holds; False after ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(0.25)
        return done()

    def effects_seen(self, kinds: set[str]) -> Callable[[], bool]:
        """A check: every expected effect of ``kinds`` was observed."""

        def check() -> bool:
            wanted = {e for e in self.model.effects if e[0] in kinds}
            if not wanted:
                return True
            found = observed_effects(self.messages())
            return wanted <= set(found)

        return check

    def dead_letters_seen(self) -> Callable[[], bool]:
        """A check: every bad message sent so far has a dead letter."""

        def check() -> bool:
            wanted = {(t, p, o) for s, t, p, o in self.sent if s.bad}
            letters = {
                (m.value["source_topic"], m.value["partition"], m.value["offset"])
                for m in self.pipeline.watcher.of(Topic.DLQ)
            }
            return wanted <= letters

        return check

    def wave_done(self, kinds: set[str]) -> Callable[[], bool]:
        """A check: a wave's effects and dead letters were all observed."""
        effects, letters = self.effects_seen(kinds), self.dead_letters_seen()
        return lambda: effects() and letters()

    def messages(self) -> list[Output]:
        """Every output message so far."""
        with self.pipeline.watcher._lock:
            return list(self.pipeline.watcher.messages)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.stats.phases[name] = round(time.monotonic() - began, 1)

    @contextmanager
    def faults(
        self, action: Callable[[], None], count: int, gap: tuple[float, float]
    ) -> Iterator[None]:
        """Run ``action`` up to ``count`` times, at random gaps, while the block runs."""
        stop = threading.Event()

        def drive() -> None:
            for _ in range(count):
                if stop.wait(self.rng.uniform(*gap)):
                    return
                try:
                    action()
                except Exception as error:  # a failed fault is reported, not fatal
                    self.stats.unexpected_exits.append(f"fault action failed: {error!r}")
                    log.exception("fault action failed")

        thread = threading.Thread(target=drive, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(300)

    # --- state --------------------------------------------------------------------------------

    def balances(self) -> dict[str, int]:
        """Every model customer's balance as a worker's ``GET /customers/{id}`` says (-1: none)."""
        worker = self.live()[0]
        found: dict[str, int] = {}
        for customer in self.model.customers():
            status, body = worker.get(f"/customers/{customer}")
            found[customer] = json.loads(body)["balance"] if status == 200 else -1
        return found

    def lots_left(self) -> int:
        """Lots still held by the model's customers (after every burn: none)."""
        worker = self.live()[0]
        left = 0
        for customer in self.model.customers():
            status, body = worker.get(f"/customers/{customer}")
            if status == 200:
                left += len(json.loads(body).get("lots", []))
        return left

    def failpoint_hits(self) -> dict[str, int]:
        """How often each failpoint struck, from the workers' logs."""
        hits: dict[str, int] = {}
        for worker in self.pipeline.workers:
            text = worker.log_path.read_text(errors="replace")
            for name in NAMES:
                count = text.count(f"failpoint {name}")
                if count:
                    hits[name] = hits.get(name, 0) + count
        return hits

    def burn_lateness(self) -> float:
        """The latest burn after its deadline, in service seconds (sped-up phase)."""
        clock = self.pipeline.clock
        worst = 0.0
        for m in self.pipeline.watcher.of(Topic.BURNS):
            published = clock.start + timedelta(
                seconds=(m.timestamp_ms / 1000 - clock.anchor) * clock.speed
            )
            deadline = datetime.fromisoformat(m.value["expired_at"].replace("Z", "+00:00"))
            worst = max(worst, (published - deadline).total_seconds())
        return round(worst, 1)

    def close(self) -> None:
        """Stop everything of the run; drop its topics and its Redis keys."""
        self._stop.set()
        self._supervisor.join(5)
        try:
            self.pipeline.close()
        finally:
            prefix = self.pipeline.settings.redis_key_prefix
            with redis.Redis.from_url(self.redis_url) as client:
                keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])


def read_all(bootstrap: str, prefix: str, timeout: float = 60) -> list[Output]:
    """Every message of the output topics, read afresh from offset 0 to the end of each
    partition: what a consumer that starts after the run sees."""
    names = {topic_name(prefix, t): t for t in OUTPUT_TOPICS}
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"recount-{time.monotonic_ns()}",
            "enable.auto.commit": False,
        }
    )
    try:
        ends: dict[tuple[str, int], int] = {}
        metadata = consumer.list_topics(timeout=30)
        for name in names:
            for partition in metadata.topics[name].partitions:
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(name, partition), timeout=30
                )
                if high > 0:
                    ends[(name, partition)] = high
        consumer.assign([TopicPartition(n, p, 0) for n, p in ends])
        found: list[Output] = []
        position = dict.fromkeys(ends, 0)
        deadline = time.monotonic() + timeout
        while any(position[tp] < ends[tp] for tp in ends) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            tp = (str(message.topic()), int(message.partition() or 0))
            position[tp] = int(message.offset() or 0) + 1
            raw_key = message.key()
            found.append(
                Output(
                    topic=names[tp[0]],
                    key=raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else None,
                    value=json.loads(message.value() or b"null"),
                    headers={},
                    timestamp_ms=message.timestamp()[1],
                )
            )
        return found
    finally:
        consumer.close()
