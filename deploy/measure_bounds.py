"""Measure what one very large customer costs its shard: Redis time per event, and the latency
another customer of the same shard sees meanwhile.

For each size in ``--lots`` it builds ONE customer with that many outstanding purchase lots
(each its own order), then times through the real Ledger scripts: a purchase (accrual), a
redemption, a full refund of one order, a timer firing with nothing due and one at which a
tenth of the lots burn and others are warned. Meanwhile a neighbour of the same shard applies
purchases in a loop on its own connection; the script prints its latency (median, max)
while the big customer's calls run and before them. Last, it measures the bytes of one
idempotency record (``--idempotency-keys``; 0 skips it), the number behind the bound in the
README ("Limits").

The customer's purchase history is imported through the real scripts
(``streams.ledger.bulk``); its record keeps about ``HOT_LOTS`` lots and the rest go to its cold
tier (see "Cold tier" in streams/ledger/keys.py), whose size the script prints too.

Mind a shared Redis: each call blocks it for the time printed, so run the big sizes against a
Redis of your own. Every key it made is deleted at the end, even on failure. Usage::

    python deploy/measure_bounds.py --redis-url redis://127.0.0.1:6379/0 --lots 1000,10000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from schemas.inputs import Purchase, RedemptionRequest, Refund
from streams.ledger import Ledger
from streams.ledger.bulk import import_purchases
from streams.ledger.keys import IDEMPOTENCY_TTL_SECONDS, ShardKeys
from streams.limits import MAX_RECORD_FIELDS
from streams.partitioning import partition_for
from streams.rules.loader import parse_rules

RULES = """
timezone: UTC
rules:
  - id: cashback-5
    event: purchase
    points: {percent: 5}
    valid_for: P14D
    warn_before: [P3D, P1D]
"""
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PARTITIONS = 12


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--lots", default="1000,10000", help="comma-separated sizes of the big customer"
    )
    parser.add_argument("--max-record-fields", type=int, default=MAX_RECORD_FIELDS)
    parser.add_argument(
        "--idempotency-keys", type=int, default=20_000, help="idempotency records to measure"
    )
    return parser.parse_args()


def purchase(event_id: str, customer: str, at: datetime, amount: int = 300) -> Purchase:
    """A POS purchase of ``amount`` RUB (15 points), its own order."""
    return Purchase(
        event_id=event_id,
        occurred_at=at,
        customer_id=customer,
        order_id=f"order-{event_id}",
        amount=Decimal(amount),
        currency="RUB",
        channel="pos",
    )


def neighbour_of(customer: str) -> str:
    """Another customer id of the same shard."""
    shard = partition_for(customer, PARTITIONS)
    i = 0
    while partition_for(f"neighbour-{i}", PARTITIONS) != shard:
        i += 1
    return f"neighbour-{i}"


async def build(ledger: Ledger, customer: str, lots: int) -> None:
    """Give ``customer`` ``lots`` outstanding lots, each of its own order ``order-<i>``, issued
    over the 10 days before T0: its purchase history imported through the real scripts
    (``streams.ledger.bulk``) by a ledger with a small hot limit, so that each import script
    reads a small record; what does not stay in the record is in its cold tier."""
    loader = Ledger(
        ledger.client,
        prefix=ledger.prefix,
        partitions=ledger.partitions,
        rules=ledger.rules,
        hot_lots=16,
    )
    await loader.start()
    span = timedelta(days=10)
    history = [purchase(f"{i}", customer, T0 - span + span * i / lots) for i in range(lots)]
    await import_purchases(loader, history, T0)


@dataclass
class Neighbour:
    """Purchases of another customer of the shard, in a loop, with their latencies."""

    ledger: Ledger
    customer: str
    samples: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)
    running: bool = True

    async def run(self) -> None:
        """Apply purchases until stopped, one at a time (as its partition's worker would)."""
        n = 0
        while self.running:
            n += 1
            started = time.monotonic()
            await self.ledger.apply(purchase(f"nb-{n}", self.customer, T0), T0)
            self.samples.append((started, time.monotonic() - started))
            await asyncio.sleep(0.002)

    def during(self, start: float, end: float) -> list[float]:
        """Latencies (ms) of the calls that overlapped ``[start, end]``."""
        return [s * 1000 for t, s in self.samples if t <= end and t + s >= start]


async def timed(label: str, call: Any, nb: Neighbour, rows: list[str]) -> None:
    """Run one call of the big customer, record its time and the neighbour's latency."""
    before = nb.during(0, time.monotonic())[-20:]
    started = time.monotonic()
    outcome = await call
    took = time.monotonic() - started
    await asyncio.sleep(0.05)  # let the neighbour's waiting call finish
    during = nb.during(started, started + took)
    worst = max(during, default=0.0)
    base = statistics.median(before) if before else 0.0
    status = outcome.get("status") if isinstance(outcome, dict) else type(outcome).__name__
    rows.append(
        f"  {label:26} {took * 1000:9.1f} ms  ({status}); neighbour: {len(during)} calls, "
        f"max {worst:.1f} ms (median before {base:.1f} ms)"
    )


async def measure(url: str, lots: int, max_fields: int) -> list[str]:
    """Build a customer of ``lots`` lots and time its events; the rows to print."""
    # A call of a big customer can block Redis for seconds: the neighbour's call must wait it out.
    client = Redis.from_url(url, socket_timeout=300)
    other = Redis.from_url(url, socket_timeout=300)
    prefix = f"mb{uuid.uuid4().hex[:4]}:"
    rules = parse_rules(RULES)
    ledger = Ledger(
        client, prefix=prefix, partitions=PARTITIONS, rules=rules, max_record_fields=max_fields
    )
    side = Ledger(other, prefix=prefix, partitions=PARTITIONS, rules=rules)
    big = "big-customer"
    rows = [f"{lots} lots (and {lots} orders) in one customer record"]
    try:
        await ledger.start()
        await side.start()
        started = time.monotonic()
        await build(ledger, big, lots)
        k = ledger.keys(ledger.shard_of(big))
        key = k.customer(big)
        rows.append(
            f"  built in {time.monotonic() - started:.1f} s; record "
            f"{await client.hlen(key)} fields, {await client.memory_usage(key) or 0} bytes; "
            f"cold tier {await client.zcard(k.cold_wake(big))} units"
        )
        nb = Neighbour(side, neighbour_of(big))
        task = asyncio.create_task(nb.run())
        await asyncio.sleep(0.5)
        await timed("purchase (accrual)", ledger.apply(purchase("p1", big, T0), T0), nb, rows)
        redeem = RedemptionRequest(
            event_id="r1", occurred_at=T0, customer_id=big, order_id="pay-1", points=10
        )
        await timed("redemption (10 points)", ledger.apply(redeem, T0), nb, rows)
        refund = Refund(event_id="f1", occurred_at=T0, customer_id=big, order_id="order-1")
        await timed("refund (one order)", ledger.apply(refund, T0), nb, rows)
        shard = ledger.shard_of(big)
        soon = T0 + timedelta(hours=1)
        await timed("timer, nothing due", ledger.fire(shard, [big], soon), nb, rows)
        later = T0 + timedelta(days=5)
        await timed("timer, 10% burn + warnings", ledger.fire(shard, [big], later), nb, rows)
        nb.running = False
        await task
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
        for i in range(0, len(keys), 500):
            await client.delete(*keys[i : i + 500])
        await client.aclose()
        await other.aclose()
    return rows


async def idempotency(url: str, count: int) -> list[str]:
    """Bytes per idempotency record: ``count`` records as the scripts write them (production
    prefix length, ``pos-<uuid>`` event ids, a 32-digit digest and an outcome, the 8-day TTL)."""
    client = Redis.from_url(url)
    prefix = f"m{uuid.uuid4().hex[:4]}:"
    keys = [
        ShardKeys(prefix, i % PARTITIONS).idempotency("purchases", f"pos-{uuid.uuid4()}")
        for i in range(count)
    ]
    try:
        before = int((await client.info("memory"))["used_memory"])
        for start in range(0, count, 1000):
            async with client.pipeline(transaction=False) as pipe:
                for key in keys[start : start + 1000]:
                    value = uuid.uuid4().hex + "\x1eapplied"
                    pipe.set(key, value, ex=IDEMPOTENCY_TTL_SECONDS)
                await pipe.execute()
        grown = int((await client.info("memory"))["used_memory"]) - before
        async with client.pipeline(transaction=False) as pipe:
            for key in keys[:1000]:
                pipe.memory_usage(key, samples=0)
            usage = sum(int(n or 0) for n in await pipe.execute()) / min(count, 1000)
    finally:
        for start in range(0, count, 1000):
            await client.delete(*keys[start : start + 1000])
        await client.aclose()
    return [
        f"idempotency records ({count}, key {len(keys[0])} bytes): MEMORY USAGE {usage:.0f} "
        f"bytes each; used_memory grew {grown / count:.0f} bytes each (with the expiry entry "
        "and dict growth; noisy if others write)"
    ]


async def main() -> None:
    """Every size in turn, smallest first; then the idempotency records."""
    args = _arguments()
    for lots in sorted(int(n) for n in args.lots.split(",") if n):
        for row in await measure(args.redis_url, lots, args.max_record_fields):
            print(row)
    if args.idempotency_keys > 0:
        for row in await idempotency(args.redis_url, args.idempotency_keys):
            print(row)


if __name__ == "__main__":
    asyncio.run(main())
