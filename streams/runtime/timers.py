"""The timer loop of a shard: fire the due customers (activations, warnings, burns) on time.

Timers live in Redis (one entry per customer, scored by its earliest pending action), so any
worker that owns the shard can fire them, and a repeat after a rebalance is harmless: the fire
script handles only what is due and not done yet. The loop sleeps until the next due entry in
real time (service delay / clock speed), but never longer than ``max_sleep`` so that a timer
that an input moved earlier is still seen within a second.

A customer whose fire script fails the same way every time (a corrupt record, a bug: see
``streams.runtime.failures``) would hold every timer of its shard behind it. When a batch fails
so, its customers are fired one by one, and the one that fails is deferred by ``DEFER`` of
service time (logged, counted in ``bonus_timer_failures_total``) while the others go on; its
timer is tried again then. Other failures (Redis away) end the loop, which is restarted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from streams.clock import Clock
from streams.failpoints import TIMERS_AFTER_FIRE, Failpoints
from streams.ledger import Ledger
from streams.ledger.outcomes import Fired
from streams.runtime.failures import deterministic
from streams.runtime.metrics import Metrics
from streams.runtime.relay import Relay

log = logging.getLogger(__name__)

LIMIT = 200
MAX_SLEEP = 0.25  # real seconds: keeps burns well within 1 s of their deadline
MIN_SLEEP = 0.01  # real seconds: an entry that stays due cannot make the loop spin
DEFER = timedelta(minutes=5)  # service time until a failing customer's timer is tried again


def sleep_seconds(due_ms: int | None, now_ms: int, clock: Clock, max_sleep: float) -> float:
    """Real seconds to sleep before the next due entry at ``due_ms`` (None: nothing pending)."""
    if due_ms is None:
        return max_sleep
    wait = clock.real_seconds(max(0, due_ms - now_ms) / 1000)
    return max(MIN_SLEEP, min(wait, max_sleep))


@dataclass
class Timers:
    """Fires the timers of the shards it is asked to run."""

    ledger: Ledger
    clock: Clock
    metrics: Metrics
    relay: Relay
    limit: int = LIMIT
    max_sleep: float = MAX_SLEEP
    failpoints: Failpoints | None = None  # test-only (streams.failpoints)

    async def oldest_due_ms(self, shard: int) -> int | None:
        """The score (epoch ms) of the shard's earliest timer, or None when there is none."""
        first = await self.ledger.client.zrange(
            self.ledger.keys(shard).timers, 0, 0, withscores=True
        )
        return int(first[0][1]) if first else None

    async def fire_once(self, shard: int) -> tuple[int, int | None]:
        """Fire up to ``limit`` due customers; return (how many, the next due ms or None)."""
        now = self.clock.now()
        try:
            fired = await self.ledger.fire_due(shard, now, self.limit)
        except Exception as error:
            if not deterministic(error):
                raise
            # The scripts of the batch that did not fail have run (a pipeline runs them all):
            # those customers are no longer due, and their outbox entries wait for the relay.
            self.relay.notify(shard)
            fired = await self.fire_isolated(shard, now)
        if fired and self.failpoints is not None:
            self.failpoints.crash(TIMERS_AFTER_FIRE)
        if fired:
            self.metrics.timers_fired.inc(len(fired))
            self.metrics.batch_size.labels("timers").observe(len(fired))
            if any(f.events for f in fired):
                self.relay.notify(shard)
        due = await self.oldest_due_ms(shard)
        now_ms = self.clock.now_ms()
        lag = 0.0 if due is None else max(0.0, (now_ms - due) / 1000)
        self.metrics.timer_lag_seconds.labels(str(shard)).set(lag)
        return len(fired), due

    async def fire_isolated(self, shard: int, now: datetime) -> list[Fired]:
        """Fire the due customers one by one; defer those that fail deterministically."""
        fired: list[Fired] = []
        for customer_id in await self.ledger.due_customers(shard, now, self.limit):
            try:
                fired.extend(await self.ledger.fire(shard, [customer_id], now))
            except Exception as error:
                if not deterministic(error):
                    raise
                log.exception(
                    "timers of customer %s (shard %s) fail every time; deferred by %s",
                    customer_id,
                    shard,
                    DEFER,
                )
                self.metrics.timer_failures.labels(str(shard)).inc()
                await self.ledger.defer_timer(shard, customer_id, now + DEFER)
        return fired

    async def run(self, shard: int) -> None:
        """Fire ``shard``'s timers until cancelled."""
        while True:
            count, due = await self.fire_once(shard)
            if count >= self.limit:
                await asyncio.sleep(0)  # more are due: go on, but let others run
                continue
            await asyncio.sleep(sleep_seconds(due, self.clock.now_ms(), self.clock, self.max_sleep))
