"""Redis clients for tests, of the kind the workers would use: with ``BONUS_REDIS_CLUSTER`` set
(``make test-cluster``) they are cluster clients, so that a test's own reads, writes and
cleanup reach every node, as the worker's do.

Cleanup deletes by prefix with SCAN, which a cluster client runs on every master, never with
FLUSHDB: the servers are shared by other tests and other people.
"""

from __future__ import annotations

from typing import Any

from streams.redis_clients import AsyncClient, SyncClient, async_redis, sync_redis
from streams.settings import Settings


def redis_settings(url: str, cluster: bool | None = None) -> Settings:
    """Settings for ``url``; ``cluster`` None: as ``BONUS_REDIS_CLUSTER`` says."""
    if cluster is None:
        return Settings(redis_url=url)
    return Settings(redis_url=url, redis_cluster=cluster)


def sync_client(url: str, cluster: bool | None = None, **options: Any) -> SyncClient:
    """A blocking client of ``url`` (a cluster client on a cluster)."""
    return sync_redis(redis_settings(url, cluster), **options)


def async_client(url: str, cluster: bool | None = None, **options: Any) -> AsyncClient:
    """An asyncio client of ``url`` (a cluster client on a cluster)."""
    return async_redis(redis_settings(url, cluster), **options)


def delete_prefix(client: SyncClient, prefix: str) -> int:
    """Delete every key under ``prefix`` (on every node); how many there were."""
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return len(keys)


async def delete_prefix_async(client: AsyncClient, prefix: str) -> int:
    """:func:`delete_prefix` with an asyncio client."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
    for start in range(0, len(keys), 500):
        await client.delete(*keys[start : start + 500])
    return len(keys)
