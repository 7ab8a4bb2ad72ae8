"""Every Redis client of the project comes from here, so that how to reach Redis (URL, and
later cluster mode, TLS and ACL users) is decided in one place.

TLS and the ACL user come from the URL (``rediss://user:password@host:port/0``, which redis-py
reads); the CA that signs the server's certificate from ``BONUS_REDIS_SSL_CA_FILE``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio

from streams.settings import Settings


def tls_options(settings: Settings) -> dict[str, Any]:
    """The client options TLS needs beyond a ``rediss://`` URL (none for other URLs)."""
    if urlsplit(settings.redis_url).scheme != "rediss":
        return {}
    # Host names are checked explicitly: redis-py before 6 did not by default.
    options: dict[str, Any] = {"ssl_check_hostname": True}
    if settings.redis_ssl_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.redis_ssl_ca_file)
    return options


def async_redis(settings: Settings, **options: Any) -> redis.asyncio.Redis:
    """An asyncio client for ``settings.redis_url`` (``options`` go to the client)."""
    return redis.asyncio.Redis.from_url(settings.redis_url, **tls_options(settings), **options)


def sync_redis(settings: Settings, **options: Any) -> redis.Redis:
    """A blocking client for ``settings.redis_url`` (``options`` go to the client)."""
    return redis.Redis.from_url(settings.redis_url, **tls_options(settings), **options)
