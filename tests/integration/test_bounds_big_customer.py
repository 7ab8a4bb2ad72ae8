"""A customer with 100,000 lots does not stall its shard (real Redis).

Its purchase history (25,000 purchases over 60 days, each its own order with four lots of four
rules, valid 60 to 90 days, warned 3 days and 1 day ahead) is imported through the real scripts
(``streams.ledger.bulk``). Then, through a ledger with the default hot limit, it makes a
purchase, redeems, is refunded for an old order, and its timer fires every hour for 33 days
(burns and warnings as their time comes), while a neighbour of the same shard applies purchases
on its own connection. Its record stays near ``HOT_LOTS`` lots (the rest in its cold tier),
every outcome is exact, and nobody waits on it for long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from redis.asyncio import Redis

from schemas.inputs import Purchase
from streams.ledger import Accrued, ClawedBack, Ledger, Redeemed
from streams.ledger.bulk import import_purchases
from streams.ledger.codec import text
from streams.ledger.keys import HOT_LOTS
from streams.ledger.view import totals_from
from streams.rules.loader import parse_rules
from tests.integration.ledger_harness import _cleanup, redemption, refund
from tests.integration.test_bounds_burst import neighbour_of

log = logging.getLogger(__name__)
T = TypeVar("T")

LOTS = 100_000
PER_PURCHASE = 4
T0 = datetime.fromisoformat("2026-12-01T09:00:00+00:00")
RULES = """
timezone: UTC
rules:
  - id: cashback-5
    event: purchase
    points: {percent: 5}
    valid_for: P90D
    warn_before: [P3D, P1D]
  - id: visit
    event: purchase
    points: {fixed: 5}
    valid_for: P60D
    warn_before: [P3D, P1D]
  - id: winter
    event: purchase
    points: {fixed: 3}
    valid_for: P75D
    warn_before: [P3D, P1D]
  - id: loyal
    event: purchase
    points: {fixed: 2}
    valid_for: P80D
    warn_before: [P3D]
"""


def purchase(event_id: str, customer: str, at: datetime) -> Purchase:
    """A purchase of 300 RUB (15 + 5 + 3 + 2 points in four lots), its own order."""
    return Purchase(
        event_id=event_id,
        occurred_at=at,
        customer_id=customer,
        order_id=f"order-{event_id}",
        amount=Decimal(300),
        currency="RUB",
        channel="pos",
    )


async def scenario(redis_url: str, prefix: str) -> None:
    rules = parse_rules(RULES)
    client, side_client = Redis.from_url(redis_url), Redis.from_url(redis_url)
    # The import runs with a small hot limit: each of its scripts then reads a small record.
    loader = Ledger(client, prefix=prefix, partitions=4, rules=rules, hot_lots=16)
    ledger = Ledger(client, prefix=prefix, partitions=4, rules=rules)
    side = Ledger(side_client, prefix=prefix, partitions=4, rules=rules)
    big = "big"
    neighbour = neighbour_of(ledger, big)
    key = ledger.keys(ledger.shard_of(big)).customer(big)
    span = timedelta(days=60)
    count = LOTS // PER_PURCHASE
    history = [purchase(f"h{i}", big, T0 - span + span * i / count) for i in range(count)]
    waits: list[float] = []
    costs: dict[str, float] = {}
    sizes: list[int] = []
    stop = asyncio.Event()

    async def neighbour_loop() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            started = time.perf_counter()
            assert isinstance(await side.apply(purchase(f"nb{n}", neighbour, T0), T0), Accrued)
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(0.005)

    async def timed(label: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        outcome = await call
        costs[label] = time.perf_counter() - started
        sizes.append(int(await client.hlen(key)))
        return outcome

    try:
        for one in (loader, ledger, side):
            await one.start()
        started = time.perf_counter()
        accrued = await import_purchases(loader, history, T0)
        built = time.perf_counter() - started
        assert accrued == 25 * count
        sizes.append(int(await client.hlen(key)))
        task = asyncio.create_task(neighbour_loop())
        await asyncio.sleep(0.2)
        before = len(waits)
        bought = await timed("purchase", ledger.apply(purchase("p1", big, T0), T0))
        assert isinstance(bought, Accrued)
        paid = await timed("redemption", ledger.apply(redemption("r1", big, 5000, T0), T0))
        assert isinstance(paid, Redeemed)
        assert paid.status == "accepted"
        back = await timed("refund", ledger.apply(refund("f1", big, "order-h20000", None, T0), T0))
        assert isinstance(back, ClawedBack)
        assert back.status == "applied"
        shard = ledger.shard_of(big)
        later = T0
        for hour in range(1, 33 * 24 + 1):
            later = T0 + timedelta(hours=hour)
            await timed(f"timer {hour} h", ledger.fire(shard, [big], later))
        view = await ledger.customer_view(big, later)
        stop.set()
        await task
        during = waits[before:]
        record = {text(f): text(v) for f, v in (await client.hgetall(key)).items()}
    finally:
        stop.set()
        await side_client.aclose()
        await _cleanup(client, prefix)

    timers = sorted(s for label, s in costs.items() if label.startswith("timer"))
    log.info(
        "%s lots imported in %.1f s; record fields: max %s, last %s; big customer's calls "
        "(ms): %s, %s timer firings: median %.1f, max %.1f; neighbour meanwhile: %s calls, "
        "median %.1f ms, max %.1f ms",
        LOTS,
        built,
        max(sizes),
        sizes[-1],
        {k: round(s * 1000, 1) for k, s in costs.items() if not k.startswith("timer")},
        len(timers),
        timers[len(timers) // 2] * 1000,
        timers[-1] * 1000,
        len(during),
        sorted(during)[len(during) // 2] * 1000,
        max(during) * 1000,
    )
    # The record holds about HOT_LOTS lots and their orders (the rest is in the cold tier),
    # plus the lots with an action within the next 15 minutes (here a few dozen).
    assert max(sizes) <= 3 * HOT_LOTS
    # Exact: the redemption took 5,000 points; the refund clawed back the order's 25; the
    # balance is what was accrued less what was redeemed, burned and clawed back.
    totals = totals_from(record)
    assert totals["redeemed"] == 5000
    assert totals["clawed_back"] == 25
    assert totals["burned"] > 0
    assert view is not None
    expected = totals["accrued"] - totals["redeemed"] - totals["burned"] - totals["clawed_back"]
    assert view.balance + view.pending == expected
    assert len(view.lots) > 0.5 * LOTS
    # Not a stall: before the cold tier each of these calls took 8-12 s of Redis at this size.
    # Now a call costs milliseconds, except the daily warning that covers a day's ~1,700
    # expiring lots in one message (about a second: each lot is read, marked and written).
    # Generous bounds for a shared 2-core machine; typical figures in the README.
    assert timers[len(timers) // 2] < 0.1
    assert max(costs.values()) < 3.0
    assert max(during) < 3.0


def test_a_customer_with_100000_lots_does_not_stall_its_shard(
    redis_url: str, key_prefix: str
) -> None:
    asyncio.run(scenario(redis_url, key_prefix))
