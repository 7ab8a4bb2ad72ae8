"""Every Redis client of the project comes from here, so that how to reach Redis (URL, and
later cluster mode, TLS and ACL users) is decided in one place."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio

from streams.settings import Settings


def async_redis(settings: Settings, **options: Any) -> redis.asyncio.Redis:
    """An asyncio client for ``settings.redis_url`` (``options`` go to the client)."""
    return redis.asyncio.Redis.from_url(settings.redis_url, **options)


def sync_redis(settings: Settings, **options: Any) -> redis.Redis:
    """A blocking client for ``settings.redis_url`` (``options`` go to the client)."""
    return redis.Redis.from_url(settings.redis_url, **options)
