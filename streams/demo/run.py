"""The demo loop: release each message when the service clock reaches its time, watch the
outputs, and stop once the simulated period is over and the workers have caught up.

Real time only enters through ``sleep`` (one tick at a time): every "now" is the service
clock's, so the demo and the workers agree on the simulated date when they share
``BONUS_CLOCK_START``, ``BONUS_CLOCK_SPEED`` and ``BONUS_CLOCK_ANCHOR``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TextIO

from schemas.durations import Duration
from streams.clock import Clock
from streams.demo.population import Habit, build_population
from streams.demo.progress import Progress
from streams.demo.publisher import demo_producer, publish
from streams.demo.traffic import plan_traffic
from streams.demo.view import LiveView, RunFacts, Snapshot, summary
from streams.rules.model import RulesFile
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``bonus demo`` was asked for."""

    duration: Duration
    customers: int = 200
    seed: int = 1
    rate: float = 500.0  # messages per real second, at most
    tick: float = 0.1  # real seconds between two rounds of the loop
    quiet: float = 3.0  # real seconds without new answers to inputs (and no lag): "drained"
    drain_timeout: float = 120.0  # real seconds to wait for the workers after the last event


@dataclass(frozen=True, slots=True)
class DemoResult:
    """How the demo ended."""

    published: int
    failed: int
    drained: bool
    interrupted: bool

    @property
    def exit_code(self) -> int:
        """0 when every event went out and the workers caught up; 130 after Ctrl-C."""
        if self.interrupted:
            return 130
        return 0 if self.drained and self.failed == 0 else 1


class Demo:
    """One run of the demo; ``run`` blocks until it is over or interrupted."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        rules: RulesFile,
        options: DemoOptions,
        out: TextIO,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings, self.clock, self.rules, self.options = settings, clock, rules, options
        self.view = LiveView(out, rules.timezone)
        self._sleep = sleep
        self._ticks_per_second = max(1, round(1 / options.tick))
        self.start = clock.now()
        self.end = options.duration.add_to(self.start, rules.timezone)
        customers = build_population(options.seed, options.customers)
        self.timeline = plan_traffic(
            customers, rules, self.start, self.end - self.start, options.seed
        )
        self.publisher = demo_producer(settings)
        self.progress = Progress(settings, {c.customer_id for c in customers})
        self._customers = len(customers)
        # The busiest habit first: a VIP is the best example when no balance was seen.
        vips = [c.customer_id for c in customers if c.habit is Habit.VIP]
        self._example = vips[0] if vips else (customers[0].customer_id if customers else None)
        self._next = 0

    def run(self) -> DemoResult:
        """Publish, watch, drain, summarise; Ctrl-C stops cleanly at any point."""
        interrupted = drained = False
        try:
            self.progress.start()
            self.publisher.start()
            self._publish_all()
            self.view.note("All events published; waiting for the workers to catch up...")
            drained = self._drain()
        except KeyboardInterrupt:
            interrupted = True
            self.view.note("Interrupted: flushing what was sent and stopping.")
        finally:
            failed = self._close()
        self.view.end_line()
        result = DemoResult(self.publisher.stats.sent, failed, drained, interrupted)
        self._summarise(result)
        return result

    def _publish_all(self) -> None:
        # A token bucket in ticks: ``rate`` messages per second on average, fractions carried
        # over (a rate of 2 sends one message every fifth tick), bursts of at most one second.
        per_tick = self.options.rate * self.options.tick
        credit = 0.0
        tick = 0
        while self._next < len(self.timeline) or self.clock.now() < self.end:
            now = self.clock.now()
            credit = min(credit + per_tick, max(1.0, self.options.rate))
            while (
                self._next < len(self.timeline)
                and self.timeline[self._next].at <= now
                and credit >= 1
            ):
                publish(self.publisher, self.timeline[self._next])
                self._next += 1
                credit -= 1
            self._observe(tick)
            tick += 1
            self._sleep(self.options.tick)
        self.publisher.flush()

    def _drain(self) -> bool:
        """Wait until the workers have read every input and answered it; burns and warnings go
        on as the clock runs, so only answers to inputs count (see ``Tally.answers``)."""
        quiet_ticks = tick = 0
        needed = max(1, round(self.options.quiet * self._ticks_per_second))
        limit = round(self.options.drain_timeout * self._ticks_per_second)
        tally = self.progress.tally
        redemptions = self.publisher.stats.delivered["redemption"]
        answers = -1
        while tick < limit:
            self._observe(tick, measure_every=2)
            quiet_ticks = quiet_ticks + 1 if tally.answers == answers else 0
            answers = tally.answers
            answered = tally.accepted + tally.rejected >= redemptions
            if self.progress.lag == 0 and answered and quiet_ticks >= needed:
                return True
            tick += 1
            self._sleep(self.options.tick)
        return False

    def _observe(self, tick: int, measure_every: int = 0) -> None:
        """Read outputs; once a second (or every ``measure_every`` ticks) measure lag and show."""
        self.publisher.poll()
        self.progress.poll()
        every = measure_every or self._ticks_per_second
        if tick % every == 0:
            self.progress.measure_lag()
        if tick % self._ticks_per_second == 0:
            self.view.show(self._snapshot())

    def _snapshot(self) -> Snapshot:
        return Snapshot(
            simulated_now=self.clock.now(),
            published=self.publisher.stats.total_delivered,
            planned=len(self.timeline),
            tally=self.progress.tally,
            lag=self.progress.lag,
        )

    def _close(self) -> int:
        try:
            remaining = self.publisher.close()
        except KeyboardInterrupt:
            remaining = self.publisher.stats.sent - self.publisher.stats.total_delivered
        self.progress.close()
        return self.publisher.stats.total_failed + remaining

    def _summarise(self, result: DemoResult) -> None:
        kinds = self.publisher.stats.delivered
        facts = RunFacts(
            started=self.start,
            ended=min(self.clock.now(), self.end) if result.interrupted else self.end,
            customers=self._customers,
            published=self.publisher.stats.total_delivered,
            bad=kinds["bad"],
            repeats=kinds["repeat"],
            failed=result.failed,
            drained=result.drained,
            interrupted=result.interrupted,
            web_port=self.settings.web_port,
            topic_prefix=self.settings.topic_prefix,
            example_customer=self._example,
        )
        for line in summary(facts, self.progress.tally, self.progress.lag, self.rules.timezone):
            self.view.note(line)


def simulated_span(options: DemoOptions, clock: Clock) -> timedelta:
    """How long, in real time, the simulated period takes on ``clock`` (roughly)."""
    start = clock.now()
    seconds = (options.duration.add_to(start) - start).total_seconds()
    return timedelta(seconds=clock.real_seconds(seconds))
