"""The demo loop on a fake clock: release on time, bounded rate, drain, summary (no services)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from schemas import Duration, Topic
from streams.client import BonusProducer
from streams.client.producer import DeliveryCallback, Headers
from streams.clock import ScaledClock
from streams.demo.progress import Progress
from streams.demo.run import Demo, DemoOptions
from streams.rules.loader import load_rules
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "deploy/rules.example.yaml")
START = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


class RealTime:
    """The fake real time: only ``sleep`` moves it."""

    def __init__(self) -> None:
        self.seconds = 1_000.0

    def __call__(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds


class FakePublisher(BonusProducer):
    """Records what the demo sends, when (real and simulated), instead of producing."""

    def __init__(self, settings: Settings, real: RealTime, clock: ScaledClock) -> None:
        super().__init__(settings)
        self.real, self.clock = real, clock
        self.log: list[tuple[float, datetime, str | None, bytes]] = []

    def start(self) -> None:
        pass

    def send_raw(
        self,
        topic: Topic,
        key: str | None,
        value: bytes,
        *,
        headers: Headers = (),
        event_id: str | None = None,
        on_delivery: DeliveryCallback | None = None,
        label: str | None = None,
    ) -> None:
        self.log.append((self.real(), self.clock.now(), event_id, value))
        self.stats.sent += 1
        self.stats.delivered[label or topic.value] += 1

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def flush(self, timeout: float = 30.0) -> int:
        return 0


class FakeProgress(Progress):
    def __init__(self, settings: Settings, answer_redemptions: bool) -> None:
        super().__init__(settings)
        self.answer_redemptions = answer_redemptions
        self.publisher: FakePublisher | None = None

    def start(self) -> None:
        pass

    def poll(self, budget: int = 500) -> int:
        if self.answer_redemptions and self.publisher is not None:
            self.tally.accepted = self.publisher.stats.delivered["redemption"]
        return 0

    def measure_lag(self) -> int | None:
        self.lag = 0
        return 0

    def close(self) -> None:
        pass


def demo(options: DemoOptions, *, answer: bool = True) -> tuple[Demo, FakePublisher, io.StringIO]:
    real = RealTime()
    clock = ScaledClock(START, speed=86_400, anchor=real.seconds, real_time=real)
    out = io.StringIO()
    settings = Settings(topic_prefix="demo.")
    run = Demo(settings, clock, RULES, options, out, sleep=real.sleep)
    publisher = FakePublisher(settings, real, clock)
    progress = FakeProgress(settings, answer)
    progress.publisher = publisher
    run.publisher, run.progress = publisher, progress
    return run, publisher, out


def test_every_message_goes_out_in_order_when_the_clock_reaches_it() -> None:
    run, publisher, out = demo(DemoOptions(Duration(days=3), customers=30, seed=4, quiet=0.5))
    result = run.run()
    sent = [(event_id, value) for _, _, event_id, value in publisher.log]
    assert sent == [(m.event_id, m.value) for m in run.timeline]
    released = [(sim, m) for (_, sim, *_), m in zip(publisher.log, run.timeline, strict=True)]
    assert all(message.at <= simulated for simulated, message in released)
    # Not early, and not late either: at most one tick (0.1 s = 2.4 simulated hours) after.
    late = [sim - m.at for sim, m in released if m.kind != "history"]
    assert max(late).total_seconds() <= 0.1 * 86_400 + 1
    assert result.exit_code == 0
    assert result.drained
    assert "Demo finished" in out.getvalue()


def test_the_rate_bounds_messages_per_real_second() -> None:
    options = DemoOptions(Duration(days=2), customers=60, seed=2, rate=20, quiet=0.5)
    run, publisher, _ = demo(options)
    run.run()
    per_second = Counter(int(real) for real, *_ in publisher.log)
    assert max(per_second.values()) <= 21
    assert sum(per_second.values()) == len(run.timeline)


def test_unanswered_redemptions_mean_the_workers_have_not_caught_up() -> None:
    options = DemoOptions(Duration(days=2), customers=40, seed=2, quiet=0.5, drain_timeout=5)
    run, _, out = demo(options, answer=False)
    result = run.run()
    assert not result.drained
    assert result.exit_code == 1
    assert "had not caught up" in out.getvalue()
