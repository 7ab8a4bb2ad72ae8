"""The Redis side of the metrics closer: shard window counters, seals, staged and published
windows, and the closer's lease (key layout: ``MetricsKeys`` and ``CloserKeys`` in
``streams/ledger/keys.py``).

Closing a window is a sequence of steps that each survive a crash: seal every shard (no more
counts into it), sum the shards' counters and STAGE the resulting events (only the first
computation is ever kept), delete the counters, publish the staged events, mark the window
published. A repeat of any step finds the same staged events, so Kafka sees the same messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from redis.commands.core import AsyncScript

from streams.analytics.counters import Window
from streams.ledger.codec import text
from streams.ledger.keys import CloserKeys, MetricsKeys
from streams.redis_clients import AsyncClient, ScriptCall, run_scripts

SCRIPT_NAMES = ("seal", "stage", "published", "lease", "release")


def _source(name: str) -> str:
    return (resources.files("streams.analytics") / "lua" / f"{name}.lua").read_text("utf-8")


@dataclass
class MetricsStore:
    """The metrics keys of every shard of one ledger prefix. No I/O until a method is awaited."""

    client: AsyncClient
    prefix: str
    partitions: int
    _scripts: dict[str, AsyncScript] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._scripts = {name: self.client.register_script(_source(name)) for name in SCRIPT_NAMES}
        self.closer = CloserKeys(self.prefix)

    def shard(self, shard: int) -> MetricsKeys:
        """The metrics keys of one shard."""
        return MetricsKeys(self.prefix, shard)

    async def _call(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    async def configure(self, length_ms: int) -> None:
        """Write the window length every shard's scripts count with."""
        if length_ms <= 0:
            raise ValueError("the metrics window must be positive")
        async with self.client.pipeline(transaction=False) as pipe:
            for shard in range(self.partitions):
                pipe.hset(self.shard(shard).state, "len", str(length_ms))
            await pipe.execute()

    async def closed_windows(self, cutoff_ms: int) -> list[Window]:
        """Every shard's windows that end at or before ``cutoff_ms``, by end then start."""
        async with self.client.pipeline(transaction=False) as pipe:
            for shard in range(self.partitions):
                pipe.zrangebyscore(self.shard(shard).windows, "-inf", cutoff_ms)
            replies = await pipe.execute()
        found = {Window.parse(text(member)) for reply in replies for member in reply}
        return sorted(found, key=lambda w: (w.end_ms, w.start_ms))

    async def seal(self, end_ms: int) -> None:
        """Seal every shard up to ``end_ms``: later counts go to windows starting at or after."""
        seal = self._scripts["seal"]
        calls: list[ScriptCall] = [
            (seal, [self.shard(shard).state], [end_ms]) for shard in range(self.partitions)
        ]
        await run_scripts(self.client, calls)

    async def read(self, window: Window) -> list[dict[str, str]]:
        """Every shard's counters of ``window``."""
        async with self.client.pipeline(transaction=False) as pipe:
            for shard in range(self.partitions):
                pipe.hgetall(self.shard(shard).counters(window.id))
            replies = await pipe.execute()
        return [{text(k): text(v) for k, v in reply.items()} for reply in replies]

    async def settled(self, window: Window) -> bool:
        """Whether the window's events were staged or published already."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hexists(self.closer.pending, window.id)
            pipe.zscore(self.closer.done, window.id)
            staged, done = await pipe.execute()
        return bool(staged) or done is not None

    async def stage(self, window: Window, events: list[bytes]) -> bool:
        """Keep ``events`` as the window's, unless it has some already; True if kept now."""
        payload = json.dumps([event.decode() for event in events])
        keys = [self.closer.pending, self.closer.done]
        return bool(await self._call("stage", keys, [window.id, payload]))

    async def drop(self, window: Window) -> None:
        """Delete every shard's counters of ``window`` (its events are staged)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for shard in range(self.partitions):
                keys = self.shard(shard)
                pipe.delete(keys.counters(window.id), keys.active(window.id))
                pipe.zrem(keys.windows, window.id)
            await pipe.execute()

    async def pending(self) -> dict[Window, list[bytes]]:
        """The staged windows not yet published, with their events."""
        raw = await self.client.hgetall(self.closer.pending)
        return {
            Window.parse(text(k)): [e.encode() for e in json.loads(text(v))] for k, v in raw.items()
        }

    async def published(self, window: Window, forget_before_ms: int) -> None:
        """Mark ``window`` published; forget published windows that ended before the mark."""
        keys = [self.closer.pending, self.closer.done]
        await self._call("published", keys, [window.id, window.end_ms, forget_before_ms])

    async def is_published(self, window: Window) -> bool:
        """Whether ``window`` was published (and not yet forgotten)."""
        return await self.client.zscore(self.closer.done, window.id) is not None

    async def hold_lease(self, token: str, ttl_ms: int) -> bool:
        """Take or renew the closer's lease for ``ttl_ms`` (real time); False: another holds it."""
        return bool(await self._call("lease", [self.closer.lease], [token, ttl_ms]))

    async def release_lease(self, token: str) -> None:
        """Give the lease back if held."""
        await self._call("release", [self.closer.lease], [token])
