"""Backpressure from the outbox: a shard whose outbox backlog passed a limit takes no input
until its relay has drained it.

Every state change appends its output events to its shard's outbox, and only the relay trims
it: with the relay down (Kafka unreachable, the relay stuck), the outbox would grow with every
input until Redis runs out of memory. So before an input message of shard ``s`` is applied,
the gate looks at ``s``'s backlog (XLEN, O(1); at most once per ``check_seconds`` while it is
under the limit). Past ``limit`` entries the message waits, and with it the worker's batch (so
the consumer stops taking input: its queue fills), polling every ``poll_seconds`` until the
backlog is back to ``resume_at`` (half the limit), with a log line and a metric each way. The
limit is soft by what one check interval of input adds; timers and campaign fan-outs are not
held (they are bounded by the customers of the shard, and the relay drains them too).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field

from streams.ledger import Ledger
from streams.runtime.metrics import Metrics

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0  # real seconds a backlog under the limit is trusted
POLL_SECONDS = 0.5  # real seconds between looks at a paused shard's backlog


@dataclass
class OutboxGate:
    """Holds input of the shards whose outbox backlog is over ``limit``."""

    ledger: Ledger
    metrics: Metrics
    limit: int
    check_seconds: float = CHECK_SECONDS
    poll_seconds: float = POLL_SECONDS
    # Monotonic time of the last look that found the shard under the limit (a duration base,
    # not a service "now").
    _checked: dict[int, float] = field(default_factory=dict)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("the outbox backlog limit must be positive")

    @property
    def resume_at(self) -> int:
        """The backlog at which a paused shard takes input again."""
        return self.limit // 2

    def _fresh(self, shard: int) -> bool:
        return time.monotonic() - self._checked.get(shard, -math.inf) < self.check_seconds

    async def wait(self, shard: int) -> None:
        """Return when ``shard`` may take input: at once unless its backlog is over the limit."""
        if self._fresh(shard):
            return
        # One looker per shard: the other messages of a paused shard wait behind it.
        async with self._locks.setdefault(shard, asyncio.Lock()):
            if self._fresh(shard):
                return
            backlog = await self.backlog(shard)
            if backlog > self.limit:
                await self._hold(shard, backlog)
            self._checked[shard] = time.monotonic()

    async def backlog(self, shard: int) -> int:
        """Outbox entries of ``shard`` not yet relayed (also into the backlog gauge, which the
        relay sets too: a dead relay task would leave it frozen)."""
        backlog = int(await self.ledger.client.xlen(self.ledger.keys(shard).outbox))
        self.metrics.outbox_backlog.labels(str(shard)).set(backlog)
        return backlog

    async def _hold(self, shard: int, backlog: int) -> None:
        log.warning(
            "shard %s: outbox backlog %s is over the limit %s (BONUS_OUTBOX_BACKLOG_LIMIT); "
            "input paused until the relay has drained it to %s",
            shard,
            backlog,
            self.limit,
            self.resume_at,
        )
        label = str(shard)
        self.metrics.input_paused.labels(label).set(1)
        self.metrics.input_pauses.labels(label).inc()
        started = time.monotonic()
        try:
            while backlog > self.resume_at:
                await asyncio.sleep(self.poll_seconds)
                backlog = await self.backlog(shard)
        finally:
            self.metrics.input_paused.labels(label).set(0)
        log.info(
            "shard %s: outbox backlog %s, input resumed after %.1f s",
            shard,
            backlog,
            time.monotonic() - started,
        )
