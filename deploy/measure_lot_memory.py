"""Measure the Redis memory one outstanding lot costs in the ledger.

Fills ``--lots`` outstanding lots (default 100,000) through the real Ledger scripts, as
purchases of ``--lots-per-customer`` per customer under a throw-away key prefix, then reports:

* bytes per lot of the ledger state (customer records, timer index, names), from
  ``MEMORY USAGE`` of every key (robust to other clients) and from the ``INFO memory`` delta;
* bytes per idempotency record (one per input event, kept for the TTL);
* bytes per outbox entry (transient: trimmed once relayed).

Every key it made is deleted at the end, even on failure. Usage::

    python deploy/measure_lot_memory.py --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from schemas.inputs import Purchase
from streams.ledger import Ledger
from streams.rules.loader import parse_rules

RULES = """
timezone: Europe/Moscow
rules:
  - id: cashback-5
    event: purchase
    points: {percent: 5}
    valid_for: P14D
    warn_before: [P3D, P1D]
    limit: {max_points: 100000, per: P30D}
"""
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--lots-per-customer", type=int, default=5)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=64)
    return parser.parse_args()


async def _keys(client: Redis, pattern: str) -> AsyncIterator[bytes]:
    async for key in client.scan_iter(match=pattern, count=2000):
        yield key


async def _usage(client: Redis, prefix: str, part: str) -> tuple[int, int]:
    """(total MEMORY USAGE bytes, key count) of the prefix's keys whose name contains part."""
    total = count = 0
    async for key in _keys(client, f"{prefix}*"):
        if part.encode() in key:
            total += int(await client.memory_usage(key, samples=0) or 0)
            count += 1
    return total, count


async def _used_memory(client: Redis) -> int:
    info: dict[str, Any] = await client.info("memory")
    return int(info["used_memory"])


async def _fill(ledger: Ledger, lots: int, per_customer: int, concurrency: int) -> None:
    rng = random.Random(42)  # noqa: S311 - reproducible load, not security
    queue: asyncio.Queue[list[Purchase]] = asyncio.Queue()
    for i in range(lots // per_customer):
        events = []
        for j in range(per_customer):
            at = START + timedelta(hours=j * 20, minutes=rng.randrange(600))
            events.append(
                Purchase(
                    event_id=f"pos-{i}-{j}-{uuid.uuid4().hex[:8]}",
                    occurred_at=at,
                    customer_id=f"customer-{i:07d}",
                    order_id=f"order-{i}-{j}",
                    amount=Decimal(rng.randrange(200, 600_000)) / 100,
                    currency="RUB",
                    channel="pos",
                )
            )
        queue.put_nowait(events)

    async def worker() -> None:
        # One customer's events in order, as the worker owning its partition would apply them.
        while not queue.empty():
            for event in queue.get_nowait():
                await ledger.apply(event, event.occurred_at)

    # A TaskGroup cancels the other workers if one fails, so cleanup never races a writer.
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())


async def _cleanup(client: Redis, prefix: str) -> None:
    batch: list[bytes] = []
    async for key in _keys(client, f"{prefix}*"):
        batch.append(key)
        if len(batch) >= 1000:
            await client.unlink(*batch)
            batch = []
    if batch:
        await client.unlink(*batch)


async def main() -> None:
    """Fill, measure, print, clean up."""
    args = _arguments()
    client = Redis.from_url(args.redis_url, max_connections=args.concurrency + 4)
    prefix = f"measure-{uuid.uuid4().hex[:8]}:"
    ledger = Ledger(client, prefix=prefix, partitions=args.partitions, rules=parse_rules(RULES))
    lots = args.lots - args.lots % args.lots_per_customer
    try:
        await ledger.start()
        config = await client.config_get("hash-max-listpack-*")
        before = await _used_memory(client)
        await _fill(ledger, lots, args.lots_per_customer, args.concurrency)
        outbox, entries = 0, 0
        for shard in range(args.partitions):
            key = ledger.keys(shard).outbox
            outbox += int(await client.memory_usage(key, samples=0) or 0)
            entries += int(await client.xlen(key))
            await client.delete(key)
        records, customers = await _usage(client, prefix, ":c:")
        timers, _ = await _usage(client, prefix, "}:t")
        names, _ = await _usage(client, prefix, "}:n")
        idempotency, events = await _usage(client, prefix, "}:i:")
        after = await _used_memory(client)
        sample = ledger.keys(ledger.shard_of("customer-0000000")).customer("customer-0000000")
        encoding = await client.object("encoding", sample)
        state = records + timers + names
        print(f"config            {config}")
        print(f"lots              {lots} in {customers} customers, record encoding {encoding!r}")
        print(
            f"bytes per lot     {state / lots:.1f}  (records {records / lots:.1f}, timers "
            f"{timers / lots:.1f}, names {names / lots:.2f}; MEMORY USAGE)"
        )
        print(
            f"  INFO delta      {(after - before - idempotency) / lots:.1f} per lot "
            "(used_memory, less idempotency records; noisy if others write)"
        )
        print(f"idempotency       {idempotency / max(events, 1):.1f} bytes per input event")
        print(f"outbox            {outbox / max(entries, 1):.1f} bytes per entry (transient)")
    finally:
        await _cleanup(client, prefix)
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
