"""Every Redis client of the project comes from here, so that how to reach Redis (URL, cluster
mode, TLS and ACL users) is decided in one place.

TLS and the ACL user come from the URL (``rediss://user:password@host:port/0``, which redis-py
reads); the CA that signs the server's certificate from ``BONUS_REDIS_SSL_CA_FILE``.

With ``BONUS_REDIS_CLUSTER`` the clients are redis-py's cluster clients, built from
``BONUS_REDIS_URL`` naming any node: they learn the slot map from it and send each command to
the master of its key's slot. That works because every script and transaction of the project
touches keys of one hash tag only (``streams/ledger/keys.py``). Callers type their client as
:data:`AsyncClient` / :data:`SyncClient`, which admit either kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, cast
from urllib.parse import urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisClusterException

from streams.settings import Settings

AsyncClient: TypeAlias = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
"""An asyncio Redis client of either kind (one server, or a cluster)."""

AsyncPipeline: TypeAlias = redis.asyncio.client.Pipeline | redis.asyncio.cluster.ClusterPipeline
"""A pipeline of an :data:`AsyncClient` of either kind."""

SyncClient: TypeAlias = redis.Redis | redis.cluster.RedisCluster
"""A blocking Redis client of either kind (one server, or a cluster)."""

REDIS_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)
"""What a client of either kind raises when Redis fails: a cluster client that reaches no node
raises RedisClusterException, which is not a RedisError."""

ScriptCall: TypeAlias = tuple[AsyncScript, Sequence[str], Sequence[Any]]
"""A registered script with its KEYS and ARGV, for :func:`run_scripts`."""


def tls_options(settings: Settings) -> dict[str, Any]:
    """The client options TLS needs beyond a ``rediss://`` URL (none for other URLs)."""
    if urlsplit(settings.redis_url).scheme != "rediss":
        return {}
    # Host names are checked explicitly: redis-py before 6 did not by default.
    options: dict[str, Any] = {"ssl_check_hostname": True}
    if settings.redis_ssl_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.redis_ssl_ca_file)
    return options


def async_redis(settings: Settings, **options: Any) -> AsyncClient:
    """An asyncio client for ``settings.redis_url`` (``options`` go to the client)."""
    if settings.redis_cluster:
        return redis.asyncio.cluster.RedisCluster.from_url(
            settings.redis_url, **tls_options(settings), **options
        )
    return redis.asyncio.Redis.from_url(settings.redis_url, **tls_options(settings), **options)


def sync_redis(settings: Settings, **options: Any) -> SyncClient:
    """A blocking client for ``settings.redis_url`` (``options`` go to the client)."""
    if settings.redis_cluster:
        return redis.cluster.RedisCluster.from_url(settings.redis_url, **options)
    return redis.Redis.from_url(settings.redis_url, **tls_options(settings), **options)


async def run_scripts(client: AsyncClient, calls: Sequence[ScriptCall]) -> list[Any]:
    """Run script calls in one pipeline (one round trip per node); their replies, in order.

    A plain client's pipeline loads missing scripts before it sends EVALSHA; a cluster's does
    not, so a master that lost its script cache (SCRIPT FLUSH, a restart or failover: Redis 7
    neither persists nor replicates it) answers NOSCRIPT. NOSCRIPT means the call did not run:
    exactly those calls run once more on their own, which loads the script. Any other error is
    raised, as a pipeline would.
    """
    async with client.pipeline(transaction=False) as pipe:
        for script, keys, args in calls:
            # redis-py queues a script in a ClusterPipeline too; its annotation omits that type.
            await script(keys=keys, args=args, client=cast("AsyncClient", pipe))
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    for reply in replies:
        if isinstance(reply, Exception) and not isinstance(reply, NoScriptError):
            raise reply
    for index, ((script, keys, args), reply) in enumerate(zip(calls, replies, strict=True)):
        if isinstance(reply, NoScriptError):
            replies[index] = await script(keys=keys, args=args)
    return replies
