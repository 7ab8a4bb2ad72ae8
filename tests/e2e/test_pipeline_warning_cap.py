"""max_warnings_per_day through a real worker: a customer whose warnings fall on one day gets
one message that day, the deferred lots come in the next day's first warning, and a lot that
would burn before the next day is warned anyway (never losing points beats the cap).

A clock at 3600x (one real second is one service hour), days of UTC; the test starts its
customers early enough in a service day to see that day end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas import Topic, parse_time
from tests.e2e.harness import Output, Pipeline, purchase, service_time, started

SPEED = 3600.0
HOUR = timedelta(hours=1)
RULES = """
timezone: UTC
warning_coalesce: PT1H
max_warnings_per_day: 1
rules:
  - id: long
    event: purchase
    points: {fixed: 100}
    valid_for: PT40H
    warn_before: [PT36H]
    when: {channels: [pos]}
  - id: short
    event: purchase
    points: {fixed: 10}
    valid_for: PT6H
    warn_before: [PT5H]
    when: {channels: [web]}
"""


@pytest.fixture
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """One worker."""
    workdir = tmp_path_factory.mktemp("warning-cap")
    yield from started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED))


def buy(pipeline: Pipeline, event_id: str, customer: str, channel: str, hours_ago: float) -> None:
    """A purchase that happened ``hours_ago`` service hours back (its lot is made late)."""
    value = purchase(event_id, customer, "10", pipeline.now() - hours_ago * HOUR)
    pipeline.send(Topic.PURCHASES, customer, {**value, "channel": channel})


def lot_of(pipeline: Pipeline, customer: str, event_id: str) -> dict[str, Any]:
    """The BonusAccrued of one purchase."""
    found = pipeline.watcher.wait(
        Topic.ACCRUALS,
        lambda m: any(x.value["source_event_id"] == event_id for x in m),
        20,
        customer,
    )
    return next(x.value for x in found if x.value["source_event_id"] == event_id)


def warnings(pipeline: Pipeline, customer: str, n: int, timeout: float) -> list[Output]:
    """Wait for ``n`` ExpiryWarnings of ``customer``."""
    return pipeline.watcher.count(Topic.EXPIRY_WARNINGS, n, timeout, customer)


def sent_at(pipeline: Pipeline, message: Output) -> datetime:
    """The service time a message was published at."""
    return service_time(pipeline, message.timestamp_ms)


def lot_ids(message: Output) -> list[str]:
    return [x["lot_id"] for x in message.value["lots"]]


def test_one_warning_a_day_the_rest_next_day_and_none_lost(pipeline: Pipeline) -> None:
    now = pipeline.now()
    if now.hour >= 12:  # leave room in the day: start just after the next midnight
        start = now.replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=1)
        time.sleep((start - now).total_seconds() / SPEED)
    day = pipeline.now().date()
    midnight = datetime.combine(day, datetime.min.time(), pipeline.now().tzinfo) + timedelta(days=1)

    # ann: three lots, each made inside its 36-hour window, so each is due a warning at once.
    buy(pipeline, "a1", "ann", "pos", hours_ago=5)
    (first,) = warnings(pipeline, "ann", 1, 10)
    a1 = lot_of(pipeline, "ann", "a1")
    buy(pipeline, "a2", "ann", "pos", hours_ago=6)
    buy(pipeline, "a3", "ann", "pos", hours_ago=4.5)  # expires 1.5 h+ after a2: its own warning
    a2, a3 = lot_of(pipeline, "ann", "a2"), lot_of(pipeline, "ann", "a3")
    # bob: one warning, then a short lot that would burn before the next day starts.
    buy(pipeline, "b1", "bob", "pos", hours_ago=5)
    warnings(pipeline, "bob", 1, 10)
    buy(pipeline, "b2", "bob", "web", hours_ago=2)
    b2 = lot_of(pipeline, "bob", "b2")
    assert parse_time(b2["expires_at"]) <= midnight

    # bob's short lot is warned at once, past the cap, before it burns.
    bob = warnings(pipeline, "bob", 2, 10)
    assert lot_ids(bob[1]) == [b2["lot_id"]]
    assert bob[1].value["lead"] == "PT5H"
    (burn,) = pipeline.watcher.count(Topic.BURNS, 1, 15, "bob")
    assert burn.value["lot_id"] == b2["lot_id"]
    assert sent_at(pipeline, bob[1]) < parse_time(b2["expires_at"]) <= sent_at(pipeline, burn)

    # ann got one warning on her first day; a2's and a3's come together at the next midnight.
    assert lot_ids(first) == [a1["lot_id"]]
    assert sent_at(pipeline, first).date() == day
    assert len(pipeline.watcher.of(Topic.EXPIRY_WARNINGS, "ann")) == 1
    timeout = (midnight - pipeline.now()).total_seconds() / SPEED + 10
    ann = warnings(pipeline, "ann", 2, timeout)
    assert [sent_at(pipeline, m).date() for m in ann] == [day, day + timedelta(days=1)]
    assert midnight <= sent_at(pipeline, ann[1]) <= midnight + HOUR
    assert lot_ids(ann[1]) == [a2["lot_id"], a3["lot_id"]]
    assert ann[1].value["lead"] == "PT36H"
    assert ann[1].value["points_expiring"] == 200
    assert parse_time(ann[1].value["expires_at"]) == parse_time(a2["expires_at"])
    time.sleep(2)  # two service hours on: still one message on the new day
    assert len(pipeline.watcher.of(Topic.EXPIRY_WARNINGS, "ann")) == 2
