"""Measure the Redis memory one outstanding lot costs in the ledger.

Fills ``--lots`` outstanding lots (default 100,000) through the real Ledger scripts, as
purchases of ``--lots-per-customer`` per customer (each purchase its own order, spread over
four days, one capped cashback rule with two expiry warnings), under a throw-away key prefix as
long as the production default ``bonus:``. Then it reports:

* the scenario: customers, lots per customer, orders, caps, id lengths;
* bytes per outstanding lot of the ledger state (customer records, timer index, customer
  index, names: every key but the transient ones below), from ``MEMORY USAGE`` of every key,
  with a breakdown of the customer records into lot fields, order fields, per-customer fields
  and key/encoding overhead;
* the same from the allocator's side (``used_memory`` of the whole server, so noisy if others
  write): what deleting the state frees, and the delta since the start once the idempotency
  records, the outbox and the metrics windows are deleted (it also holds the dict tables
  those keys grew);
* the record encoding and the longest field or value (what ``hash-max-listpack-value`` needs);
* bytes per idempotency record (one per input event, kept for the TTL), per outbox entry
  (transient: trimmed once relayed) and of the metrics windows (transient: every window of the
  filled days is still open here, as no closer runs).

Every key it made is deleted at the end, even on failure. Usage::

    python deploy/measure_lot_memory.py --redis-url redis://127.0.0.1:6379/0 [--lots 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from schemas.inputs import Purchase
from streams.ledger import Ledger
from streams.ledger.codec import text
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


def customer_id(i: int) -> str:
    """A customer id of ordinary length (16 characters)."""
    return f"customer-{i:07d}"


def order_id(i: int, j: int) -> str:
    """A POS-style order id: store and receipt number (14 characters)."""
    return f"S{i % 400:03d}-{i:07d}-{j}"


def _purchases(lots: int, per_customer: int) -> list[list[Purchase]]:
    rng = random.Random(42)  # noqa: S311 - reproducible load, not security
    customers = []
    for i in range(lots // per_customer):
        events = []
        for j in range(per_customer):
            # POS clocks: whole seconds, a purchase every ~20 hours.
            at = START + timedelta(hours=j * 20, seconds=rng.randrange(36_000))
            events.append(
                Purchase(
                    event_id=f"pos-{uuid.uuid4()}",
                    occurred_at=at,
                    customer_id=customer_id(i),
                    order_id=order_id(i, j),
                    amount=Decimal(rng.randrange(2_000, 600_000)) / 100,  # >= 1 point
                    currency="RUB",
                    channel="pos",
                )
            )
        customers.append(events)
    return customers


async def _fill(ledger: Ledger, customers: list[list[Purchase]], concurrency: int) -> None:
    queue: asyncio.Queue[list[Purchase]] = asyncio.Queue()
    for events in customers:
        queue.put_nowait(events)
    shards = range(ledger.partitions)

    async def worker() -> None:
        # One customer's events in order, as the worker owning its partition would apply them.
        while not queue.empty():
            for event in queue.get_nowait():
                await ledger.apply(event, event.occurred_at)

    async def trim() -> None:
        # The relay would trim the outbox; here it only must not grow without bound.
        while not queue.empty():
            await asyncio.sleep(5)
            for shard in shards:
                await ledger.client.xtrim(ledger.keys(shard).outbox, maxlen=1000)

    # A TaskGroup cancels the other workers if one fails, so cleanup never races a writer.
    async with asyncio.TaskGroup() as group:
        group.create_task(trim())
        for _ in range(concurrency):
            group.create_task(worker())


async def _keys(client: Redis, pattern: str) -> AsyncIterator[bytes]:
    async for key in client.scan_iter(match=pattern, count=2000):
        yield key


async def _used_memory(client: Redis) -> int:
    info: dict[str, Any] = await client.info("memory")
    return int(info["used_memory"])


def entry_size(value: bytes) -> int:
    """Bytes one listpack entry of ``value`` takes (encoding header, data, back length)."""
    try:
        number = int(value)
        canonical = str(number).encode() == value
    except ValueError:
        canonical = False
    if canonical:
        for limit, size in ((127, 1), (4095, 2), (32767, 3), (8388607, 4), (2**31 - 1, 5)):
            if -limit - 1 <= number <= limit and not (size == 1 and number < 0):
                return size + 1
        return 10
    n = len(value)
    head = 1 if n < 64 else 2 if n < 4096 else 5
    body = head + n
    return body + (1 if body < 128 else 2 if body < 16384 else 3)


@dataclass
class Records:
    """What the customer records hold, in bytes (MEMORY USAGE, and listpack entries by kind)."""

    keys: int = 0
    usage: int = 0
    lots: int = 0
    lot_fields: int = 0
    orders: int = 0
    order_fields: int = 0
    other_fields: int = 0
    longest: int = 0
    encodings: dict[str, int] = field(default_factory=dict)

    def add(self, usage: int, encoding: bytes, record: dict[bytes, bytes]) -> None:
        """Account one customer record."""
        self.keys += 1
        self.usage += usage
        self.encodings[text(encoding)] = self.encodings.get(text(encoding), 0) + 1
        for name, value in record.items():
            size = entry_size(name) + entry_size(value)
            self.longest = max(self.longest, len(name), len(value))
            if name.startswith(b"L"):
                self.lots += 1
                self.lot_fields += size
            elif name.startswith(b"O"):
                self.orders += 1
                self.order_fields += size
            else:
                self.other_fields += size


async def _measure(client: Redis, prefix: str, customers: Records) -> dict[str, tuple[int, int]]:
    """MEMORY USAGE (bytes, keys) per key kind; customer records into ``customers``."""
    totals: dict[str, tuple[int, int]] = {}
    batch: list[bytes] = []

    async def account() -> None:
        async with client.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.memory_usage(key, samples=0)
                if _kind(key) == "c":
                    pipe.object("encoding", key)
                    pipe.hgetall(key)
            replies = iter(await pipe.execute())
        for key in batch:
            usage, kind = int(next(replies) or 0), _kind(key)
            if kind == "c":
                customers.add(usage, next(replies), next(replies))
            else:
                total, count = totals.get(kind, (0, 0))
                totals[kind] = (total + usage, count + 1)
        batch.clear()

    async for key in _keys(client, f"{prefix}*"):
        batch.append(key)
        if len(batch) >= 1000:
            await account()
    await account()
    return totals


def _kind(key: bytes) -> str:
    """The key kind after the hash tag (c customer, t timers, k index, n names, x outbox,
    i idempotency, m metrics; see keys.py), or ``-`` for a key without one."""
    parts = key.split(b"}:", 1)
    return parts[1][:1].decode() if len(parts) == 2 else "-"


TRANSIENT = {"i": "idempotency", "x": "outbox", "m": "metrics windows"}
KEPT = {"t": "timer index", "k": "customer index", "n": "names"}


async def _delete(client: Redis, pattern: str) -> None:
    batch: list[bytes] = []
    async for key in _keys(client, pattern):
        batch.append(key)
        if len(batch) >= 1000:
            await client.delete(*batch)
            batch = []
    if batch:
        await client.delete(*batch)


async def main() -> None:
    """Fill, measure, print, clean up."""
    args = _arguments()
    client = Redis.from_url(args.redis_url, max_connections=args.concurrency + 4)
    prefix = f"m{uuid.uuid4().hex[:4]}:"  # as long as the production default "bonus:"
    ledger = Ledger(client, prefix=prefix, partitions=args.partitions, rules=parse_rules(RULES))
    per = args.lots_per_customer
    purchases = _purchases(args.lots - args.lots % per, per)
    try:
        await ledger.start()
        config = await client.config_get("hash-max-listpack-*")
        before = await _used_memory(client)
        started = time.monotonic()
        await _fill(ledger, purchases, args.concurrency)
        filled = time.monotonic() - started
        outbox = entries = 0
        for shard in range(args.partitions):
            key = ledger.keys(shard).outbox
            outbox += int(await client.memory_usage(key, samples=0) or 0)
            entries += int(await client.xlen(key))
        records = Records()
        usage = await _measure(client, prefix, records)
        idempotency, events = usage.get("i", (0, 0))
        metrics, _ = usage.get("m", (0, 0))
        kept = {kind: total for kind, (total, _) in usage.items() if kind not in TRANSIENT}
        for shard in range(args.partitions):
            await client.delete(ledger.keys(shard).outbox)
        await _delete(client, f"{prefix}*}}:i:*")
        await _delete(client, f"{prefix}*}}:m*")  # metrics windows: closed (deleted) hourly
        after = await _used_memory(client)
        await _delete(client, f"{prefix}*")  # the ledger state: what does it free?
        freed = after - await _used_memory(client)
        lots = records.lots  # every one outstanding: nothing was spent, refunded or burned
        state = records.usage + sum(kept.values())
        fields = records.lot_fields + records.order_fields + records.other_fields
        overhead = records.usage - fields
        c = records.keys
        print(f"scenario          {lots} outstanding lots: {c} customers x {per} purchases")
        print(
            f"                  {records.orders} orders (1 lot each), 1 capped rule "
            f"(cashback-5: max 100000 per P30D, warn P3D and P1D), {args.partitions} shards"
        )
        print(
            f"                  ids: customer {len(customer_id(0))} chars, order "
            f"{len(order_id(0, 0))}, lot 16; key prefix {prefix!r}; times in whole seconds; "
            f"filled in {filled:.0f} s"
        )
        print(f"redis config      {config}")
        print(
            f"encoding          {records.encodings}; longest field or value "
            f"{records.longest} bytes (hash-max-listpack-value must be >= it)"
        )
        print(f"bytes per lot     {state / lots:.1f}  (MEMORY USAGE of every key)")
        print(
            f"  records         {records.usage / lots:.1f} = lot fields "
            f"{records.lot_fields / lots:.1f} + order fields {records.order_fields / lots:.1f} + "
            f"per-customer fields {records.other_fields / lots:.1f} + key and encoding "
            f"{overhead / lots:.1f}"
        )
        for kind, total in sorted(kept.items(), key=lambda item: -item[1]):
            print(f"  {KEPT.get(kind, 'other ' + kind):15} {total / lots:.2f}")
        print(
            f"used_memory       {freed / lots:.1f} per lot freed by deleting the state; "
            f"{(after - before) / lots:.1f} per lot delta since the start (allocator view, whole "
            "server: the delta also holds the dict tables the deleted idempotency keys grew; "
            "noisy if others write)"
        )
        print(f"metrics windows   {metrics / lots:.1f} bytes per lot (transient: open windows)")
        print(f"idempotency       {idempotency / max(events, 1):.1f} bytes per input event")
        print(f"outbox            {outbox / max(entries, 1):.1f} bytes per entry (transient)")
    finally:
        await _delete(client, f"{prefix}*")
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
