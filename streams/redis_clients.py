"""Every Redis client of the project comes from here, so that how to reach Redis (URL, and
later cluster mode, TLS and ACL users) is decided in one place.

TLS and the ACL user come from the URL (``rediss://user:password@host:port/0``, which redis-py
reads); the CA that signs the server's certificate from ``BONUS_REDIS_SSL_CA_FILE``.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio

from streams.settings import Settings


def tls_options(settings: Settings) -> dict[str, Any]:
    """The client options TLS needs beyond the URL (empty without a CA file)."""
    if settings.redis_ssl_ca_file is None:
        return {}
    return {"ssl_ca_certs": str(settings.redis_ssl_ca_file)}


def async_redis(settings: Settings, **options: Any) -> redis.asyncio.Redis:
    """An asyncio client for ``settings.redis_url`` (``options`` go to the client)."""
    return redis.asyncio.Redis.from_url(settings.redis_url, **tls_options(settings), **options)


def sync_redis(settings: Settings, **options: Any) -> redis.Redis:
    """A blocking client for ``settings.redis_url`` (``options`` go to the client)."""
    return redis.Redis.from_url(settings.redis_url, **tls_options(settings), **options)
