"""The campaign fan-out loop of a shard: grant the campaigns pending in it, batch by batch.

A launch is recorded by whichever worker consumes it (``Ledger.launch_campaign``), which marks
every shard pending; each worker then grants the customers of the shards it owns, here. The
resume point lives in Redis after every batch, so a crash or a rebalance repeats at most one
batch (harmless: one lot per campaign and customer is decided inside the grant script), and
for a moment during a rebalance two workers may run the same shard, just as the timer loop.
When the last shard of a campaign is done, the worker that finished it logs one completion
line with the total granted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from streams.clock import Clock
from streams.ledger import Ledger
from streams.ledger.campaigns import FANOUT_BATCH
from streams.runtime.relay import Relay

log = logging.getLogger(__name__)

IDLE_SECONDS = 0.5  # real seconds between looks at a shard with nothing pending


@dataclass(frozen=True)
class FanoutMetrics:
    """Progress of the campaign fan-out (labels: campaign ids, which are few)."""

    granted: Counter
    scanned: Counter
    shards_done: Counter
    completed: Counter


def create_fanout_metrics(registry: CollectorRegistry) -> FanoutMetrics:
    """Register the fan-out metrics in ``registry``."""
    return FanoutMetrics(
        granted=Counter(
            "bonus_campaign_granted_lots_total",
            "Campaign lots granted by this worker's fan-out, by campaign.",
            ["campaign"],
            registry=registry,
        ),
        scanned=Counter(
            "bonus_campaign_scanned_customers_total",
            "Known customers the fan-out looked at (in the segment or not), by campaign.",
            ["campaign"],
            registry=registry,
        ),
        shards_done=Counter(
            "bonus_campaign_shards_done_total",
            "Shards whose fan-out this worker finished, by campaign.",
            ["campaign"],
            registry=registry,
        ),
        completed=Counter(
            "bonus_campaigns_completed_total",
            "Campaigns whose last shard this worker finished.",
            registry=registry,
        ),
    )


@dataclass
class Fanout:
    """Runs the campaign fan-out of the shards it is asked to run."""

    ledger: Ledger
    clock: Clock
    metrics: FanoutMetrics
    relay: Relay
    batch: int = FANOUT_BATCH
    idle_seconds: float = IDLE_SECONDS

    async def step(self, shard: int) -> bool:
        """One batch of every campaign pending in ``shard``; False when none is pending."""
        steps = await self.ledger.fanout_step(shard, self.clock.now(), self.batch)
        for s in steps:
            self.metrics.scanned.labels(s.campaign_id).inc(s.scanned)
            self.metrics.granted.labels(s.campaign_id).inc(s.granted)
            if s.granted:
                self.relay.notify(shard)
            if s.shard_done:
                self.metrics.shards_done.labels(s.campaign_id).inc()
            if s.completed is not None:
                self.metrics.completed.inc()
                log.info(
                    "campaign %s complete: granted %s lots to customers of segment %s "
                    "(%s known customers scanned, %s shards)",
                    s.campaign_id,
                    s.completed.granted,
                    s.completed.launch.segment,
                    s.completed.scanned,
                    s.completed.shards,
                )
        return bool(steps)

    async def run(self, shard: int) -> None:
        """Fan out ``shard``'s pending campaigns until cancelled."""
        while True:  # noqa: ASYNC110 - polls Redis (launches come from other workers)
            # Busy: more batches may follow, go on but let others run. Idle: one cheap HGETALL.
            await asyncio.sleep(0 if await self.step(shard) else self.idle_seconds)
