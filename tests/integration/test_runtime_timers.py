"""Timer loops on the real broker and Redis: due customers fire with the service clock, the lag
gauge reads now minus the oldest due entry, ownership starts and stops the loops, and a lot
fired by two owners at once burns once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from prometheus_client import CollectorRegistry

from schemas import Topic
from streams.runtime.runtime import Runtime
from streams.runtime.timers import DEFER
from streams.settings import Settings
from tests.integration.runtime_harness import (
    HOUR,
    T0,
    ManualClock,
    corrupt,
    purchase,
    read,
    running,
)


def gauge(registry: CollectorRegistry, name: str, shard: int) -> float | None:
    """A per-shard gauge's value."""
    return registry.get_sample_value(name, {"shard": str(shard)})


def test_due_timers_fire_with_the_service_clock_and_lag_is_measured(settings: Settings) -> None:
    clock = ManualClock()

    async def scenario() -> tuple[Runtime, int, list[float | None]]:
        async with running(settings, clock) as runtime:
            await runtime.ledger.apply(purchase("p1", "erin"), clock.now())
            shard = runtime.ledger.shard_of("erin")
            registry = runtime.metrics.registry
            assert await runtime.timers.fire_once(shard) == (
                0,
                int((T0 + HOUR / 2).timestamp() * 1000),
            )
            lags = [gauge(registry, "bonus_timer_lag_seconds", shard)]
            clock.at = T0 + 2 * HOUR
            runtime.timers.limit = 0  # look, do not fire: the lag is now minus the oldest due
            await runtime.timers.fire_once(shard)
            lags.append(gauge(registry, "bonus_timer_lag_seconds", shard))
            runtime.timers.limit = 100
            fired, _ = await runtime.timers.fire_once(shard)
            lags.append(gauge(registry, "bonus_timer_lag_seconds", shard))
            await runtime.relay.relay_once(shard)
            return runtime, fired, lags

    _, fired, lags = asyncio.run(scenario())
    assert fired == 1
    assert lags == [0.0, 1.5 * 3600, 0.0]
    (burn,) = read(settings, Topic.BURNS, 1)
    assert json.loads(burn.value() or b"")["points"] == 10


def test_two_owners_firing_the_same_shard_burn_each_lot_once(settings: Settings) -> None:
    clock = ManualClock()

    async def scenario() -> None:
        async with running(settings, clock) as one, running(settings, clock) as two:
            for n in range(10):
                await one.ledger.apply(purchase(f"p{n}", f"c{n}"), clock.now())
            clock.at = T0 + 2 * HOUR
            shards = range(settings.partitions)
            await asyncio.gather(*(r.timers.fire_once(s) for s in shards for r in (one, two)))
            for shard in shards:
                await one.relay.relay_once(shard)

    asyncio.run(scenario())
    burns = [json.loads(m.value() or b"") for m in read(settings, Topic.BURNS, 10)]
    assert len({b["lot_id"] for b in burns}) == 10


def test_ownership_follows_assignments_and_keeps_loops_through_a_rebalance(
    settings: Settings,
) -> None:
    clock = ManualClock()

    async def scenario() -> list[frozenset[int]]:
        async with running(settings, clock) as runtime:
            seen = [runtime.ownership.owned]
            await runtime.assign({0, 2})
            seen.append(runtime.ownership.owned)
            await runtime.ledger.apply(purchase("p1", "c-late"), clock.now())
            await runtime.revoke({0, 2})  # loops run on through the rebalance
            assert runtime.ownership.rebalancing
            seen.append(runtime.ownership.owned)
            await runtime.assign({1, 3})
            seen.append(runtime.ownership.owned)
            assert not runtime.ownership.rebalancing
            assert runtime.metrics.registry.get_sample_value("bonus_owned_partitions") == 2
            return seen

    seen = asyncio.run(scenario())
    assert seen == [frozenset(), frozenset({0, 2}), frozenset({0, 2}), frozenset({1, 3})]


def test_a_customer_whose_timers_fail_every_time_is_deferred_and_the_shard_goes_on(
    settings: Settings,
) -> None:
    # Mallory's record is corrupt after her purchase (a lot whose shape no name code resolves):
    # her fire script fails every time. Her timer comes due first; her neighbours' still fire.
    clock = ManualClock()

    async def scenario() -> tuple[float, float | None, int]:
        async with running(settings, clock) as runtime:
            ledger = runtime.ledger
            shard = ledger.shard_of("mallory")
            others = [c for c in (f"n{i}" for i in range(200)) if ledger.shard_of(c) == shard][:3]
            await ledger.apply(purchase("m1", "mallory"), clock.now())
            clock.at = T0 + timedelta(minutes=1)
            for n, customer in enumerate(others):
                await ledger.apply(purchase(f"o{n}", customer), clock.now())
            await corrupt(runtime, "mallory")
            clock.at = T0 + 2 * HOUR
            await runtime.timers.fire_once(shard)
            deferred = await runtime.redis.zscore(ledger.keys(shard).timers, "mallory")
            failures = runtime.metrics.registry.get_sample_value(
                "bonus_timer_failures_total", {"shard": str(shard)}
            )
            await runtime.relay.relay_once(shard)
            left = len(await ledger.due_customers(shard, clock.now()))
            return float(deferred or 0), failures, left

    deferred, failures, left = asyncio.run(scenario())
    assert deferred == (T0 + 2 * HOUR + DEFER).timestamp() * 1000
    assert failures == 1
    assert left == 0  # nothing is due any more: mallory waits for her deferred time
    burns = [json.loads(m.value() or b"") for m in read(settings, Topic.BURNS, 3)]
    assert len({b["customer_id"] for b in burns}) == 3
