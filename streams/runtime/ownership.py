"""Which shards (partitions) this worker owns, and the loops that run for each of them.

On each new assignment the relay and timer loops start for every newly owned shard and stop
(cancelled and awaited) for every shard no longer owned. A rebalance's revocation alone stops
nothing: with eager rebalancing every partition is revoked and most come back, and a shard whose
loops paused for the whole rebalance would burn late. So a shard that moves keeps firing on the
old owner until that owner's new assignment arrives, at the end of the same rebalance as the new
owner's. In that short overlap both may fire or relay it, which is harmless: the ledger scripts
make a repeated firing a no-op and a repeated relay carries the same event ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from streams.runtime.metrics import Metrics, forget_shard
from streams.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

ShardLoop = Callable[[int], Awaitable[None]]
"""A loop over one shard that runs until cancelled (e.g. ``Relay.run``)."""

RESTART_SECONDS = 1.0


@dataclass
class Ownership:
    """The owned shards and their running loops."""

    loops: dict[str, ShardLoop]
    metrics: Metrics
    restart_seconds: float = RESTART_SECONDS
    assignment_done: bool = False
    rebalancing: bool = False
    _tasks: dict[int, list[asyncio.Task[None]]] = field(default_factory=dict)

    @property
    def owned(self) -> frozenset[int]:
        """The shards whose loops run here."""
        return frozenset(self._tasks)

    async def assign(self, shards: Iterable[int]) -> None:
        """Own exactly ``shards`` from now on (the full new assignment)."""
        wanted = set(shards)
        await self.revoke(set(self._tasks) - wanted)
        for shard in sorted(wanted - set(self._tasks)):
            self._tasks[shard] = [
                asyncio.create_task(self._supervise(name, loop, shard), name=f"{name}-{shard}")
                for name, loop in self.loops.items()
            ]
        self.assignment_done = True
        self.rebalancing = False
        self.metrics.owned_partitions.set(len(self._tasks))
        log.info("owning shards %s", sorted(self._tasks))

    async def revoke(self, shards: Iterable[int]) -> None:
        """Stop the loops of ``shards`` and wait until they have stopped."""
        for shard in sorted(set(shards) & set(self._tasks)):
            await cancel_and_wait(self._tasks.pop(shard))
            forget_shard(self.metrics, shard)
            log.info("released shard %s", shard)
        self.metrics.owned_partitions.set(len(self._tasks))

    def start_rebalance(self) -> None:
        """A rebalance began: report not ready until the new assignment (loops run on)."""
        self.rebalancing = True

    async def stop(self) -> None:
        """Stop every loop."""
        await self.revoke(list(self._tasks))
        self.assignment_done = False

    async def _supervise(self, name: str, loop: ShardLoop, shard: int) -> None:
        # A loop that fails (Redis or Kafka away) is restarted; it holds no state of its own.
        while True:
            try:
                await loop(shard)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s loop of shard %s failed; restarting", name, shard)
            await asyncio.sleep(self.restart_seconds)
