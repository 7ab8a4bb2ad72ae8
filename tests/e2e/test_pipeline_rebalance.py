"""Two real workers share the shards: a second one joins and leaves while lots come due.

Every lot must burn exactly once (one BonusBurned event id per lot, with its points), on time,
whichever worker owned its shard at the deadline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

import pytest

from schemas import Topic, parse_time
from tests.e2e.harness import Pipeline, purchase, service_time, started

SPEED = 3600.0
HOUR = timedelta(hours=1)
CUSTOMERS = 24
RULES = """
rules:
  - id: flat
    event: purchase
    points: {fixed: 7}
    valid_for: PT12H
"""


@pytest.fixture
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """One worker to begin with."""
    workdir = tmp_path_factory.mktemp("rebalance")
    yield from started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED))


def test_a_worker_joins_and_leaves_and_every_lot_burns_exactly_once(pipeline: Pipeline) -> None:
    now = pipeline.now()
    # Deadlines spread from 3 to about 26 service hours ahead: before, during and after the
    # second worker's stay.
    for n in range(CUSTOMERS):
        occurred = now - 9 * HOUR + n * HOUR
        pipeline.send(Topic.PURCHASES, f"c{n}", purchase(f"p{n}", f"c{n}", "10", occurred))
    accruals = pipeline.watcher.count(Topic.ACCRUALS, CUSTOMERS, 30)
    lots = {m.value["lot_id"]: m.value for m in accruals}
    assert len(lots) == CUSTOMERS

    second = pipeline.start_worker()
    second.wait_healthy()
    first = pipeline.workers[0]
    owned = [set(w.get_json("/healthz")[1]["owned_partitions"]) for w in (first, second)]
    assert owned[0] | owned[1] == {0, 1, 2, 3}
    assert owned[0], owned
    assert owned[1], owned
    assert second.stop() == 0

    burns = pipeline.watcher.count(Topic.BURNS, CUSTOMERS, 60)
    by_lot: defaultdict[str, set[str]] = defaultdict(set)
    for burn in burns:
        by_lot[burn.value["lot_id"]].add(burn.value["event_id"])
        assert burn.value["points"] == 7
        deadline = parse_time(burn.value["expired_at"])
        assert deadline == parse_time(lots[burn.value["lot_id"]]["expires_at"])
        # Within one service hour (one real second) of the deadline, rebalance or not.
        published = service_time(pipeline, burn.timestamp_ms)
        assert deadline <= published <= deadline + HOUR, (published - deadline, burn.value)
    assert set(by_lot) == set(lots)
    assert all(len(ids) == 1 for ids in by_lot.values()), by_lot
    assert first.get_json("/healthz")[1]["owned_partitions"] == [0, 1, 2, 3]
