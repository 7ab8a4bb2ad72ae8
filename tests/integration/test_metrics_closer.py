"""The metrics closer on a real Redis (a recording producer stands in for Kafka): a closed
window is published once per dimension, its counters deleted; a closer that crashed after
staging publishes exactly what was staged; late events move to the next window; one lease."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Message

from streams.analytics.counters import Window, sum_shards, window_events
from streams.analytics.store import MetricsStore
from streams.ledger.codec import from_ms, to_ms
from streams.runtime.producer import AsyncProducer
from streams.runtime.windows import GRACE_MS, WindowCloser
from tests.integration.ledger_harness import T0, Harness, open_harness, purchase

HOUR = timedelta(hours=1)
HOUR_MS = 3_600_000


@dataclass
class FixedClock:
    """A service clock the test moves."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def now_ms(self) -> int:
        return to_ms(self.at)

    def real_seconds(self, service_seconds: float) -> float:
        return service_seconds


class RecordingProducer(AsyncProducer):
    """Delivers every message at once, into ``sent``."""

    def __init__(self) -> None:
        super().__init__({})
        self.sent: list[tuple[str, str, dict[str, Any], dict[str, bytes]]] = []

    def send(
        self,
        topic: str,
        key: str | bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> asyncio.Future[Message]:
        text_key = key.decode() if isinstance(key, bytes) else str(key)
        self.sent.append((topic, text_key, json.loads(value), dict(headers)))
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        future.set_result(None)  # type: ignore[arg-type]
        return future


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix) as harness:
        yield harness


def closer(h: Harness, clock: FixedClock, worker: str = "w1") -> WindowCloser:
    store = MetricsStore(h.client, h.ledger.prefix, h.ledger.partitions)
    return WindowCloser(store, RecordingProducer(), clock, "t.metrics", HOUR_MS, token=worker)


def sent(c: WindowCloser) -> list[tuple[str, str, dict[str, Any], dict[str, bytes]]]:
    assert isinstance(c.producer, RecordingProducer)
    return c.producer.sent


def test_a_closed_window_is_published_once_per_dimension(h: Harness) -> None:
    clock = FixedClock(T0)
    c = closer(h, clock)
    h.run(c.store.configure(HOUR_MS))
    for i in range(6):
        h.run(h.ledger.apply(purchase(f"p{i}", f"cust-{i}", "1500"), T0))
    clock.at = T0 + HOUR  # the window ends now; the grace has not passed yet
    assert h.run(c.close_once()) == 0
    clock.at = T0 + HOUR + timedelta(milliseconds=GRACE_MS)
    assert h.run(c.close_once()) == 1
    messages = sent(c)
    by_dimension = {key: value for _, key, value, _ in messages}
    assert set(by_dimension) == {"all", "rule:cashback", "rule:big-order"}
    assert by_dimension["all"]["accrued_points"] == 6 * 200
    assert by_dimension["all"]["active_customers"] == 6
    assert by_dimension["rule:big-order"]["accrued_lots"] == 6
    assert by_dimension["all"]["window_start"] == "2026-12-01T10:00:00Z"
    for topic, _, value, headers in messages:
        assert topic == "t.metrics"
        assert headers["ce_id"].decode() == value["event_id"]
        assert headers["ce_time"] == b"2026-12-01T11:00:00Z"
    window = Window(to_ms(T0), HOUR_MS)
    assert h.run(c.store.is_published(window))
    assert h.run(c.store.closed_windows(2**52)) == []
    assert sum_shards(h.run(c.store.read(window))) == {}
    assert h.run(c.close_once()) == 0
    assert len(sent(c)) == 3


def test_after_a_crash_the_staged_events_are_published_unchanged(h: Harness) -> None:
    clock = FixedClock(T0 + 2 * HOUR)
    c = closer(h, clock)
    h.run(h.ledger.apply(purchase("p1", "ann", "100"), T0))
    window = Window(to_ms(T0), HOUR_MS)
    # A closer sealed, summed and staged, then died before deleting and publishing.
    h.run(c.store.seal(window.end_ms))
    staged = window_events(window, sum_shards(h.run(c.store.read(window))))
    h.run(c.store.stage(window, [e.model_dump_json().encode() for e in staged]))
    h.run(h.ledger.apply(purchase("p2", "ann", "200"), T0 + timedelta(minutes=5)))  # late
    assert h.run(c.close_once()) == 1
    published = [value for _, _, value, _ in sent(c)]
    assert published == [json.loads(e.model_dump_json()) for e in staged]
    assert published[0]["accrued_points"] == 10
    later = Window(window.end_ms, HOUR_MS)
    assert h.run(c.store.closed_windows(2**52)) == [later]  # the late one counts there
    clock.at = from_ms(later.end_ms + GRACE_MS)
    assert h.run(c.close_once()) == 1
    assert sent(c)[-2][2]["accrued_points"] == 20  # the following window's "all"


def test_staging_keeps_the_first_computation(h: Harness) -> None:
    c = closer(h, FixedClock(T0))
    window = Window(to_ms(T0), HOUR_MS)
    assert h.run(c.store.stage(window, [b'{"a":1}']))
    assert not h.run(c.store.stage(window, [b'{"a":2}']))
    assert h.run(c.store.pending()) == {window: [b'{"a":1}']}
    h.run(c.store.published(window, 0))
    assert not h.run(c.store.stage(window, [b'{"a":3}']))
    assert h.run(c.store.pending()) == {}


def test_one_closer_holds_the_lease(h: Harness) -> None:
    clock = FixedClock(T0 + 2 * HOUR)
    first, second = closer(h, clock, "w1"), closer(h, clock, "w2")
    h.run(h.ledger.apply(purchase("p1", "bob", "100"), T0))
    assert h.run(second.store.hold_lease("w2", 10_000))
    assert h.run(first.close_once()) == 0
    h.run(second.store.release_lease("w2"))
    assert h.run(first.close_once()) == 1
    assert h.run(second.close_once()) == 0
    assert sent(second) == []
