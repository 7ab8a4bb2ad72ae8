"""The metrics closer: publish each closed window of ``bonus.metrics`` once.

Every worker runs this loop; the one holding the Redis lease does the work. A window closes when
the service clock has passed its end plus ``GRACE`` (clock skew between workers and the time
between reading the clock and running a script). The closer then seals every shard up to that
end, so no script counts into the window any more (a late event counts in the next window: the
sums stay exact), stages the summed events, deletes the counters and publishes; the steps and
why a crash repeats at most the same messages: ``streams/analytics/store.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass, field

from schemas import cloudevent_headers, parse_time, to_json_bytes
from streams.analytics.counters import sum_shards, window_events
from streams.analytics.store import MetricsStore
from streams.clock import Clock
from streams.runtime.producer import CE_SOURCE, AsyncProducer, wait_all
from streams.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

GRACE_MS = 5_000  # service ms after a window's end before it closes
INTERVAL = 0.25  # real seconds between closer rounds
LEASE_MS = 10_000  # real ms: another worker takes over this long after the holder stopped
KEEP_PUBLISHED_MS = 8 * 86_400_000  # service ms a published window is remembered


@dataclass
class WindowCloser:
    """Closes metrics windows while it holds the lease. ``await start()``, ``await stop()``."""

    store: MetricsStore
    producer: AsyncProducer
    clock: Clock
    topic: str
    length_ms: int
    grace_ms: int = GRACE_MS
    interval: float = INTERVAL
    lease_ms: int = LEASE_MS
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Write the window length to every shard (before any event is counted), start the loop."""
        await self.store.configure(self.length_ms)
        self._task = asyncio.create_task(self.run(), name="metrics-closer")

    async def stop(self) -> None:
        """Stop the loop and give the lease back."""
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        with contextlib.suppress(Exception):
            await self.store.release_lease(self.token)

    async def run(self) -> None:
        """Close windows until cancelled; a failed round (Redis, Kafka away) is retried."""
        while True:
            try:
                await self.close_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("closing metrics windows failed; retrying")
            await asyncio.sleep(self.interval)

    async def close_once(self) -> int:
        """One round: close what is due and publish what is staged; the windows published."""
        if not await self.store.hold_lease(self.token, self.lease_ms):
            return 0
        published = await self.publish_staged()
        windows = await self.store.closed_windows(self.clock.now_ms() - self.grace_ms)
        if not windows:
            return published
        await self.store.seal(max(w.end_ms for w in windows))
        for window in windows:
            if not await self.store.settled(window):
                events = window_events(window, sum_shards(await self.store.read(window)))
                await self.store.stage(window, [to_json_bytes(e) for e in events])
            await self.store.drop(window)
        return published + await self.publish_staged()

    async def publish_staged(self) -> int:
        """Publish every staged window (oldest first), then mark it published."""
        staged = await self.store.pending()
        for window in sorted(staged):
            futures = []
            for raw in staged[window]:
                event = json.loads(raw)
                headers = cloudevent_headers(
                    str(event["event_id"]),
                    str(event["type"]),
                    source=CE_SOURCE,
                    time=parse_time(str(event["window_end"])),
                )
                futures.append(self.producer.send(self.topic, event["dimension"], raw, headers))
            await wait_all(futures)
            forget = self.clock.now_ms() - KEEP_PUBLISHED_MS
            await self.store.published(window, forget)
            log.info("metrics window %s published (%s dimensions)", window.id, len(futures))
        return len(staged)
