"""A ledger script that fails half-way leaves nothing behind, and the retry applies it once.

Redis does not roll a Lua script back. The scripts therefore validate and compute everything
before their first write (lib.lua, ``finish``); the ``lua.before_write`` failpoint makes them
raise at the last moment before it, after every read, check and computation. Nothing of the
customer, its shard's timers, outbox, metrics or idempotency keys may change; only interned
names may (they are idempotent and harmless, lib.lua says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from streams.failpoints import LUA_BEFORE_WRITE, Failpoints
from streams.ledger import Accrued, ClawedBack, Duplicate, Ledger, Redeemed
from streams.ledger.errors import ScriptError
from streams.ledger.keys import ShardKeys
from tests.integration.ledger_harness import (
    T0,
    Harness,
    open_harness,
    purchase,
    redemption,
    refund,
    rules,
)

CUSTOMER = "fp-1"


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix) as harness:
        yield harness


def failing(h: Harness) -> Ledger:
    """A second ledger on the same keys whose every script fails before its first write."""
    ledger = Ledger(
        h.client,
        prefix=h.ledger.prefix,
        partitions=h.ledger.partitions,
        rules=rules(),
        failpoints=Failpoints({LUA_BEFORE_WRITE: 1.0}),
    )
    h.run(ledger.start())
    return ledger


def snapshot(h: Harness) -> dict[str, Any]:
    """Every key of the ledger with its content, except the shards' interned names."""
    names = {ShardKeys(h.ledger.prefix, s).names for s in range(h.ledger.partitions)}

    async def read() -> dict[str, Any]:
        state: dict[str, Any] = {}
        async for raw in h.client.scan_iter(match=f"{h.ledger.prefix}*", count=1000):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            if key in names:
                continue
            found = await h.client.type(key)
            kind = found.decode() if isinstance(found, bytes) else str(found)
            if kind == "hash":
                state[key] = await h.client.hgetall(key)
            elif kind == "zset":
                state[key] = await h.client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                state[key] = await h.client.xrange(key)
            elif kind == "set":
                state[key] = await h.client.smembers(key)
            else:
                state[key] = (await h.client.get(key), await h.client.ttl(key) > 0)
        return state

    return h.run(read())


def test_a_script_failing_before_its_first_write_leaves_no_partial_state(h: Harness) -> None:
    first = purchase("p1", CUSTOMER, 500, T0)
    assert isinstance(h.run(h.ledger.accrue(first, T0)), Accrued)
    before = snapshot(h)
    assert before, "the customer has state to protect"
    broken = failing(h)
    second = purchase("p2", CUSTOMER, 300, T0)
    spend = redemption("r1", CUSTOMER, 20, T0)
    take_back = refund("f1", CUSTOMER, first.order_id, at=T0)
    for attempt in (
        broken.accrue(second, T0),
        broken.redeem(spend, T0),
        broken.refund(take_back, T0),
    ):
        with pytest.raises(ScriptError, match="failpoint"):
            h.run(attempt)
    assert snapshot(h) == before

    # The worker retries the message: each applies exactly once, a repeat is a duplicate.
    assert isinstance(h.run(h.ledger.accrue(second, T0)), Accrued)
    assert isinstance(h.run(h.ledger.redeem(spend, T0)), Redeemed)
    assert isinstance(h.run(h.ledger.refund(take_back, T0)), ClawedBack)
    assert isinstance(h.run(h.ledger.accrue(second, T0)), Duplicate)
    accrued = [e.data["src"] for e in h.outbox(CUSTOMER) if e.type == "accrued"]
    assert accrued == ["p1", "p2"]
    assert [e.type for e in h.outbox(CUSTOMER)].count("redemption") == 1
    assert [e.type for e in h.outbox(CUSTOMER)].count("clawed_back") == 1
