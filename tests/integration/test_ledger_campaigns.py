"""Campaign launches on a real Redis: the registry (record once, relaunch, conflicts, unknown
segment), the per-shard customer index, and the batched fan-out of every shard (one lot per
customer of the segment, none outside it, none for customers first seen after the launch, a
relaunch grants nothing, a crash mid-fan-out resumes without doubling)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from schemas.outputs import BonusAccrued
from streams.ledger import CampaignRecorded, Conflict, UnknownSegment
from streams.ledger.campaigns import FanoutStep
from streams.ledger.codec import text
from streams.ledger.keys import INDEX_BUCKETS, campaign_key
from streams.ledger.view import t36
from tests.integration.ledger_harness import DAY, T0, Harness, campaign, open_harness, purchase

CUSTOMERS = [f"cust-{n}" for n in range(40)]
REGULARS = CUSTOMERS[::3]  # two purchases: segment "regular" (min_purchases: 2)


@pytest.fixture
def h(redis_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_url, key_prefix) as harness:
        yield harness


def populate(h: Harness, at: datetime = T0) -> None:
    """Every customer buys once, the regulars twice."""
    for customer in CUSTOMERS:
        h.run(h.ledger.apply(purchase(h.next_id("p"), customer, "10"), at))
    for customer in REGULARS:
        h.run(h.ledger.apply(purchase(h.next_id("p"), customer, "10"), at))


def drain(h: Harness, now: datetime, batch: int = 4) -> list[FanoutStep]:
    """Run every shard's fan-out until nothing is pending; every step taken."""
    taken: list[FanoutStep] = []
    while True:
        steps = [
            step
            for shard in range(h.ledger.partitions)
            for step in h.run(h.ledger.fanout_step(shard, now, batch))
        ]
        if not steps:
            return taken
        taken += steps


def campaign_lots(h: Harness, customer: str, campaign_id: str) -> list[BonusAccrued]:
    """The BonusAccrued events of one campaign for one customer, from the outbox."""
    return [
        event
        for event in h.outputs(customer, "accrued")
        if isinstance(event, BonusAccrued) and event.campaign_id == campaign_id
    ]


def test_every_shard_indexes_the_customers_it_creates(h: Harness) -> None:
    populate(h)
    shards = {h.ledger.shard_of(c) for c in CUSTOMERS}
    assert shards == set(range(4))  # the customers spread over every shard
    for customer in CUSTOMERS:
        bucket = h.ledger.keys(h.ledger.shard_of(customer)).index_of(customer)
        created = h.run(h.client.hget(bucket, customer))
        assert created is not None
        assert t36(text(created)) == T0.timestamp() * 1000
    assert h.run(h.ledger.count_segment("regular", T0 + DAY)) == (len(REGULARS), len(CUSTOMERS))


def test_the_registry_records_a_launch_once(h: Harness) -> None:
    launch = campaign("c1", "xmas", 77, "regular", T0 + DAY)
    first = h.run(h.ledger.apply(launch, T0 + DAY))
    assert first == CampaignRecorded("recorded", "xmas", "c1")
    assert h.run(h.ledger.apply(launch, T0 + DAY)) == CampaignRecorded("duplicate", "xmas", "c1")
    relaunch = campaign("c2", "xmas", 77, "regular", T0 + 2 * DAY)
    assert h.run(h.ledger.apply(relaunch, T0 + 2 * DAY)) == CampaignRecorded(
        "relaunch", "xmas", "c1"
    )
    assert isinstance(h.run(h.ledger.apply(campaign("c1", "xmas", 78, "regular"), T0)), Conflict)
    assert isinstance(h.run(h.ledger.apply(campaign("c3", "xmas", 78, "regular"), T0)), Conflict)
    unknown = h.run(h.ledger.apply(campaign("c4", "spring", 5, "nobody"), T0))
    assert unknown == UnknownSegment("spring", "nobody")
    assert unknown.error().code == "unknown_segment"
    assert not h.run(h.client.exists(campaign_key(h.ledger.prefix, "spring")))
    for shard in range(4):
        pending = h.run(h.client.hgetall(h.ledger.keys(shard).fanouts))
        assert pending == {b"xmas": b"0,0,0"}


def test_fanout_grants_one_lot_per_customer_of_the_segment(h: Harness) -> None:
    populate(h)
    launch = campaign("c1", "xmas", 77, "regular", T0 + DAY)
    h.run(h.ledger.apply(launch, T0 + DAY))
    # First seen after the launch was recorded: not a customer "at launch time".
    late = "late-regular"
    for _ in range(2):
        h.run(h.ledger.apply(purchase(h.next_id("p"), late, "10"), T0 + 2 * DAY))
    steps = drain(h, T0 + 2 * DAY)
    assert sum(s.granted for s in steps) == len(REGULARS)
    assert sum(s.scanned for s in steps) == len(CUSTOMERS)
    assert [s.completed is not None for s in steps].count(True) == 1
    for customer in CUSTOMERS:
        lots = campaign_lots(h, customer, "xmas")
        expected = 1 if customer in REGULARS else 0
        assert len(lots) == expected, customer
        for lot in lots:
            assert (lot.points, lot.issued_at, lot.expires_at) == (77, T0 + DAY, T0 + 11 * DAY)
    assert not campaign_lots(h, late, "xmas")
    status = h.run(h.ledger.campaign_status("xmas"))
    assert status is not None
    assert status.complete
    assert (status.total, status.scanned) == (len(REGULARS), len(CUSTOMERS))


def test_a_relaunch_or_a_replay_grants_nothing_twice(h: Harness) -> None:
    populate(h)
    launch = campaign("c1", "xmas", 77, "regular", T0 + DAY)
    h.run(h.ledger.apply(launch, T0 + DAY))
    drain(h, T0 + DAY)
    for again in (launch, campaign("c2", "xmas", 77, "regular", T0 + 2 * DAY)):
        h.run(h.ledger.apply(again, T0 + 2 * DAY))
        assert drain(h, T0 + 2 * DAY) == []  # every shard is done: nothing marked again
    # Even a shard marked pending again by hand rescans without granting anything new.
    h.run(h.client.hset(h.ledger.keys(0).fanouts, "xmas", "0,0,0"))
    h.run(h.client.hdel(campaign_key(h.ledger.prefix, "xmas"), "s0"))
    steps = drain(h, T0 + 2 * DAY)
    assert sum(s.granted for s in steps) == 0
    for customer in REGULARS:
        assert len(campaign_lots(h, customer, "xmas")) == 1
    status = h.run(h.ledger.campaign_status("xmas"))
    assert status is not None
    assert status.granted == len(REGULARS)


def test_a_crash_mid_fanout_resumes_without_doubling(h: Harness) -> None:
    populate(h)
    h.run(h.ledger.apply(campaign("c1", "xmas", 77, "regular", T0 + DAY), T0 + DAY))
    fanouts = h.ledger.keys(1).fanouts
    h.run(h.ledger.fanout_step(1, T0 + DAY, 3))
    after_first = h.run(h.client.hget(fanouts, "xmas"))
    assert after_first is not None
    bucket, _, scanned = (int(x) for x in text(after_first).split(","))
    assert 0 < bucket < INDEX_BUCKETS  # resumes after the whole buckets of the first batch
    assert scanned >= 3
    h.run(h.ledger.fanout_step(1, T0 + DAY, 3))
    # The worker died after granting the second batch but before storing its resume point: the
    # next owner repeats that batch, which grants nothing new and still counts its customers.
    h.run(h.client.hset(fanouts, "xmas", after_first))
    drain(h, T0 + DAY, 3)
    for customer in CUSTOMERS:
        assert len(campaign_lots(h, customer, "xmas")) == (customer in REGULARS)
    status = h.run(h.ledger.campaign_status("xmas"))
    assert status is not None
    assert (status.total, status.scanned) == (len(REGULARS), len(CUSTOMERS))


def test_a_customer_is_judged_on_the_statistics_the_fanout_finds(h: Harness) -> None:
    # Known at launch, judged when the fan-out reaches it (documented in ledger.campaigns).
    h.run(h.ledger.apply(purchase("p1", "ann", "10"), T0))
    h.run(h.ledger.apply(purchase("p2", "ann", "10"), T0))
    h.run(h.ledger.apply(purchase("p3", "bob", "10"), T0))
    h.run(h.ledger.apply(campaign("c1", "xmas", 5, "regular", T0 + DAY), T0 + DAY))
    # bob becomes a regular after the launch was recorded, before the fan-out reaches him.
    h.run(h.ledger.apply(purchase("p4", "bob", "10"), T0 + DAY))
    drain(h, T0 + DAY)
    assert len(campaign_lots(h, "ann", "xmas")) == 1
    assert len(campaign_lots(h, "bob", "xmas")) == 1
