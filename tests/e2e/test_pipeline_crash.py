"""kill -9 in the middle of a stream: no input is skipped, no effect happens twice.

faust acknowledges an event in a ``finally`` and may commit an offset ahead of a message still
being processed (design.md's faust traps); the worker acknowledges by hand after the ledger
call, so a worker killed mid-stream leaves every unprocessed message to its successor, and
the ledger's idempotency absorbs what is processed twice.
"""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from collections.abc import Iterator

import pytest

from schemas import Topic, topic_name
from tests.e2e.harness import Pipeline, purchase, started

SPEED = 60.0  # nothing expires during the test
EVENTS, CUSTOMERS = 1500, 60
RULES = """
rules:
  - id: cashback
    event: purchase
    points: {percent: 10}
    valid_for: P30D
"""


@pytest.fixture
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """One worker."""
    workdir = tmp_path_factory.mktemp("crash")
    yield from started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED))


def test_a_worker_killed_mid_stream_skips_nothing_and_repeats_no_effect(
    pipeline: Pipeline,
) -> None:
    now = pipeline.now()
    name = topic_name(pipeline.settings.topic_prefix, Topic.PURCHASES)
    expected: defaultdict[str, int] = defaultdict(int)
    for n in range(EVENTS):
        customer = f"k{n % CUSTOMERS}"
        amount = 10 + n % 7 * 10
        expected[customer] += amount // 10
        value = purchase(f"e{n}", customer, str(amount), now)
        pipeline.producer.produce(name, key=customer.encode(), value=json.dumps(value).encode())
        pipeline.producer.poll(0)
    assert pipeline.producer.flush(30) == 0
    pipeline.watcher.count(Topic.ACCRUALS, 100, 30)
    victim = pipeline.workers[0]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(10)
    assert len(pipeline.watcher.of(Topic.ACCRUALS)) < EVENTS, "killed too late to prove much"

    successor = pipeline.start_worker()
    successor.wait_healthy(90)

    def every_event(_: object) -> bool:
        sources = {m.value["source_event_id"] for m in pipeline.watcher.of(Topic.ACCRUALS)}
        return len(sources) == EVENTS

    pipeline.watcher.wait(Topic.ACCRUALS, every_event, 90)
    ids_by_source: defaultdict[str, set[str]] = defaultdict(set)
    for message in pipeline.watcher.of(Topic.ACCRUALS):
        ids_by_source[message.value["source_event_id"]].add(message.value["event_id"])
    assert all(len(ids) == 1 for ids in ids_by_source.values())
    for customer, points in expected.items():
        status, body = successor.get_json(f"/customers/{customer}")
        assert status == 200
        assert body["balance"] == points, customer
