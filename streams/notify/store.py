"""What the notifier remembers in Redis: warnings already sent, and warnings held for later.

Key layout (``P`` = ``BONUS_REDIS_KEY_PREFIX``, ``G`` = the notifier's consumer group; the group
is a hash tag so one script touches both held keys in one Redis Cluster slot):

| key | type | holds |
|---|---|---|
| ``Pnotify:{G}:sent:<event_id>`` | STRING, TTL (default 8 days) | a warning was delivered |
| ``Pnotify:{G}:held`` | ZSET | held event ids scored by release time (service ms) |
| ``Pnotify:{G}:held:data`` | HASH | held event id -> the warning's JSON |

One key per sent event id gives each its own TTL (a single SET could only expire as a whole);
keying by group lets two notifiers (say SMS and e-mail) each deliver every warning once.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Final, cast

from redis.commands.core import Script

from streams.redis_clients import SyncClient

SENT_TTL_SECONDS: Final = 8 * 86_400
"""Longer than the contract's 7-day window for repeats of one ``event_id``."""


def _claim_source() -> str:
    return (resources.files("streams.notify") / "lua" / "claim.lua").read_text(encoding="utf-8")


def check_group(group: str) -> str:
    """``group`` if it can be a hash tag (no braces); ValueError otherwise."""
    if not group or "{" in group or "}" in group:
        raise ValueError(f"consumer group {group!r}: give a non-empty name without braces")
    return group


@dataclass(frozen=True, slots=True)
class Held:
    """A held warning handed out by ``claim_due``; ``payload`` is None if it went missing."""

    event_id: str
    payload: bytes | None


class NotifyStore:
    """Dedupe records and the held queue of one consumer group. No network until used."""

    def __init__(
        self, client: SyncClient, key_prefix: str, group: str, sent_ttl: int = SENT_TTL_SECONDS
    ) -> None:
        base = f"{key_prefix}notify:{{{check_group(group)}}}"
        self._client = client
        self._sent = f"{base}:sent:"
        self._held = f"{base}:held"
        self._data = f"{base}:held:data"
        self._ttl = sent_ttl
        self._claim: Script = client.register_script(_claim_source())

    def load(self) -> None:
        """Load the claim script now, so a broken script fails the start, not the first hold."""
        self._client.script_load(self._claim.script)

    def was_sent(self, event_id: str) -> bool:
        """Whether ``event_id`` was delivered (within the TTL)."""
        return bool(self._client.exists(self._sent + event_id))

    def mark_sent(self, event_id: str) -> None:
        """Record ``event_id`` as delivered, and forget it if it was held."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.set(self._sent + event_id, b"1", ex=self._ttl)
            pipe.zrem(self._held, event_id)
            pipe.hdel(self._data, event_id)
            pipe.execute()

    def hold(self, event_id: str, payload: bytes, release_ms: int) -> bool:
        """Hold a warning until ``release_ms``; False if it was already held (first time wins)."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._data, event_id, payload)
            pipe.zadd(self._held, {event_id: release_ms}, nx=True)
            added = pipe.execute()[1]
        return bool(added)

    def reschedule(self, event_id: str, release_ms: int) -> None:
        """Move a held warning's release to ``release_ms``."""
        self._client.zadd(self._held, {event_id: release_ms}, xx=True)

    def claim_due(self, now_ms: int, lease_until_ms: int, limit: int = 100) -> list[Held]:
        """Held warnings due at ``now_ms``, leased to the caller until ``lease_until_ms``."""
        flat = self._claim(keys=[self._held, self._data], args=[now_ms, lease_until_ms, limit])
        pairs = zip(flat[0::2], flat[1::2], strict=True)
        return [Held(_text(event_id), payload) for event_id, payload in pairs]

    def drop_held(self, event_id: str) -> None:
        """Forget a held warning without sending it (its deadline passed, or it was sent)."""
        with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(self._held, event_id)
            pipe.hdel(self._data, event_id)
            pipe.execute()

    def held(self) -> dict[str, int]:
        """Every held event id and its release time (ms), for status and tests."""
        rows = cast(
            "list[tuple[bytes, float]]", self._client.zrange(self._held, 0, -1, withscores=True)
        )
        return {_text(member): int(score) for member, score in rows}


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
