"""Timer burst and Redis memory: lots expiring within one minute, burned by one real worker.

Setup bypasses Kafka: purchases go straight into the real ledger scripts
(``Ledger.apply_batch``, as a worker applies its input batches), which is far
faster than producing them through a worker at today's speed. Then the accrual outbox is
dropped (those events are not what is measured), Redis' ``MEMORY USAGE`` of every key is taken
(bytes per outstanding lot), and a worker starts on a service clock that reaches the deadline
minute ``burst_lead_s`` later. Burn lag is each BonusBurned's Kafka timestamp, read as service
time, minus its ``expired_at``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.kafka_io import OutputReader, customer_id
from bench.namespace import Namespace
from bench.phases import CLOCK, Sizes, write_rules
from bench.stats import percentile, rate
from bench.workers import Worker
from schemas import Topic
from schemas.inputs import Purchase
from streams.ledger import Ledger
from streams.redis_clients import AsyncClient, async_redis
from streams.rules.loader import parse_rules
from streams.settings import Settings

LOTS_PER_CUSTOMER = 5
VALID_FOR = timedelta(hours=1)
DEADLINE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
RULES = """
timezone: Europe/Moscow
rules:
  - id: cashback-5
    event: purchase
    points: {percent: 5}
    valid_for: PT1H
"""


CHUNK_CUSTOMERS = 100  # customers per Ledger.apply_batch call of the setup
SETUP_TASKS = 4


async def _fill(ledger: Ledger, sizes: Sizes) -> tuple[int, int, float]:
    """Apply purchases until ``burst_lots`` or the setup budget; (lots, customers, seconds).

    In batches (``Ledger.apply_batch``, as a worker applies its input); a batch's service time
    is its latest purchase time, as if the worker were a few seconds behind.
    """
    rng = random.Random(11)  # noqa: S311 - reproducible load, not security
    spread_ms = int(sizes.burst_spread_s * 1000)
    customers = sizes.burst_lots // LOTS_PER_CUSTOMER
    run = uuid.uuid4().hex[:6]
    started = time.monotonic()
    stop_at = started + sizes.burst_setup_budget_s
    next_customer = 0
    done = 0

    def purchases(c: int) -> list[Purchase]:
        offsets = sorted(rng.randrange(spread_ms) for _ in range(LOTS_PER_CUSTOMER))
        return [
            Purchase(
                event_id=f"burst-{run}-{c}-{j}",
                occurred_at=DEADLINE - VALID_FOR + timedelta(milliseconds=offset),
                customer_id=customer_id(c),
                order_id=f"S{c % 400:03d}-{c:07d}-{j}",
                amount=Decimal(rng.randrange(2_000, 600_000)) / 100,
                currency="RUB",
                channel="pos",
            )
            for j, offset in enumerate(offsets)
        ]

    async def worker() -> None:
        nonlocal next_customer, done
        while next_customer < customers and time.monotonic() < stop_at:
            chunk = range(next_customer, min(next_customer + CHUNK_CUSTOMERS, customers))
            next_customer = chunk.stop
            events = [event for c in chunk for event in purchases(c)]
            await ledger.apply_batch(events, max(e.occurred_at for e in events))
            done += len(chunk)

    async with asyncio.TaskGroup() as group:
        for _ in range(SETUP_TASKS):
            group.create_task(worker())
    return done * LOTS_PER_CUSTOMER, done, time.monotonic() - started


def _kind(key: bytes) -> str:
    return key.split(b"}:", 1)[1][:1].decode() if b"}:" in key else "?"


async def _memory(client: AsyncClient, prefix: str) -> dict[str, tuple[int, int]]:
    """MEMORY USAGE (bytes, keys) per key kind under ``prefix``."""
    totals: dict[str, tuple[int, int]] = {}
    batch: list[bytes] = []

    async def account() -> None:
        async with client.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.memory_usage(key, samples=0)
            usages = await pipe.execute()
        for key, usage in zip(batch, usages, strict=True):
            total, count = totals.get(_kind(key), (0, 0))
            totals[_kind(key)] = (total + int(usage or 0), count + 1)
        batch.clear()

    async for key in client.scan_iter(match=f"{prefix}*", count=5000):
        batch.append(key)
        if len(batch) >= 2000:
            await account()
    await account()
    return totals


async def _setup(ns: Namespace, sizes: Sizes) -> dict[str, Any]:
    """Fill the lots, drop the accrual outbox, measure memory; figures of setup and memory."""
    s = ns.settings
    client = async_redis(s, max_connections=80)
    ledger = Ledger(
        client, prefix=s.redis_key_prefix, partitions=ns.partitions, rules=parse_rules(RULES)
    )
    try:
        await ledger.start()
        lots, customers, seconds = await _fill(ledger, sizes)
        for shard in range(ns.partitions):
            await client.delete(ledger.keys(shard).outbox)
        usage = await _memory(client, s.redis_key_prefix)
    finally:
        await client.aclose()
    state = sum(usage.get(k, (0, 0))[0] for k in ("c", "t", "n"))
    idempotency, events = usage.get("i", (0, 0))
    return {
        "lots": lots,
        "customers": customers,
        "setup_s": round(seconds, 1),
        "setup_lots_per_s": round(rate(lots, seconds), 1),
        "bytes_per_lot": round(state / lots, 1) if lots else None,
        "records_bytes_per_lot": round(usage.get("c", (0, 0))[0] / lots, 1) if lots else None,
        "timer_index_bytes_per_lot": round(usage.get("t", (0, 0))[0] / lots, 1) if lots else None,
        "idempotency_bytes_per_event": round(idempotency / events, 1) if events else None,
    }


def _expired_ms(value: bytes) -> int | None:
    try:
        moment = datetime.fromisoformat(str(json.loads(value)["expired_at"]))
    except (ValueError, KeyError, TypeError):
        return None
    return int(moment.timestamp() * 1000)


def burst_phase(
    base: Settings, sizes: Sizes, workdir: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(timer burst figures, memory figures)."""
    ns = Namespace.new(base, "burst", sizes.partitions)
    rules = write_rules(workdir, ns.settings.consumer_group, RULES)
    reader = OutputReader(ns.settings, ns.topic(Topic.BURNS), sizes.partitions, parse=_expired_ms)
    worker: Worker | None = None
    try:
        ns.create()
        setup = asyncio.run(_setup(ns, sizes))
        lots = int(setup["lots"])
        reader.start()
        start = DEADLINE - timedelta(seconds=sizes.burst_lead_s)
        anchor_ms = CLOCK.now_ms()
        clock = {
            "BONUS_CLOCK_START": start.isoformat(),
            "BONUS_CLOCK_SPEED": "1",
            "BONUS_CLOCK_ANCHOR": f"{anchor_ms / 1000:.3f}",
        }
        opened = time.monotonic()
        worker = Worker.start(ns, rules, workdir, clock)
        worker.wait_healthy()
        healthy_after_s = time.monotonic() - opened
        give_up = opened + sizes.burst_lead_s + sizes.burst_spread_s + sizes.burst_wait_after_s
        while reader.count() < lots and time.monotonic() < give_up:
            worker.healthy()
            time.sleep(0.2)
        rss = worker.peak_rss_bytes()
    finally:
        reader.stop()
        if worker is not None:
            worker.stop()
        ns.delete()
    stamps, pairs = reader.snapshot()
    start_ms = int(start.timestamp() * 1000)
    minute_ms = int(DEADLINE.timestamp() * 1000)
    # Kafka timestamps are real time; the worker's service time is start + (real - anchor).
    lags = [(start_ms + stamp - anchor_ms - expired) / 1000 for expired, stamp in pairs]
    last = max(stamps) if stamps else None
    burst: dict[str, Any] = {
        "lots": lots,
        "lots_requested": sizes.burst_lots,
        "lots_per_customer": LOTS_PER_CUSTOMER,
        "customers": setup["customers"],
        "deadline_spread_s": sizes.burst_spread_s,
        "setup_s": setup["setup_s"],
        "setup_lots_per_s": setup["setup_lots_per_s"],
        "setup": "Ledger.apply_batch directly (no Kafka), service time = latest purchase of "
        "each batch; accrual outbox dropped",
        "worker_healthy_after_s": round(healthy_after_s, 1),
        "worker_ready_before_deadline": healthy_after_s < sizes.burst_lead_s,
        "burned": len(stamps),
        "all_burned": len(stamps) >= lots > 0,
        "last_burn_after_minute_start_s": (
            round((start_ms + last - anchor_ms - minute_ms) / 1000, 3) if last else None
        ),
        "burns_per_s": round(rate(len(stamps), (max(stamps) - min(stamps)) / 1000), 1)
        if len(stamps) > 1
        else None,
        "burn_lag_p50_s": round(percentile(lags, 0.5), 3) if lags else None,
        "burn_lag_p99_s": round(percentile(lags, 0.99), 3) if lags else None,
        "burn_lag_max_s": round(max(lags), 3) if lags else None,
        "peak_rss_mib": round(rss / 2**20, 1) if rss else None,
    }
    if lots < sizes.burst_lots:
        burst["note"] = (
            f"setup stopped after {sizes.burst_setup_budget_s:.0f} s at {lots:,} of "
            f"{sizes.burst_lots:,} lots (ledger setup runs at ~{setup['setup_lots_per_s']} lots/s)"
        )
    if not burst["all_burned"]:
        burst["burn_note"] = (
            f"stopped waiting {sizes.burst_wait_after_s:.0f} s after the last deadline with "
            f"{len(stamps):,} of {lots:,} burned"
        )
    memory = {
        "lots": lots,
        "lots_per_customer": LOTS_PER_CUSTOMER,
        "bytes_per_lot": setup["bytes_per_lot"],
        "records_bytes_per_lot": setup["records_bytes_per_lot"],
        "timer_index_bytes_per_lot": setup["timer_index_bytes_per_lot"],
        "idempotency_bytes_per_event": setup["idempotency_bytes_per_event"],
        "how": "MEMORY USAGE of every customer record, timer index and names key / lots "
        "(as deploy/measure_lot_memory.py; idempotency records and outbox apart)",
    }
    return burst, memory
