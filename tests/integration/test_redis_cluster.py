"""The ledger on the local three-master Redis Cluster (deploy/local), whatever
``BONUS_REDIS_URL`` names, so that ``make test`` proves the key layout on a cluster: every key
of a shard in one slot, the shards spread over every master, the untagged campaign registry
touched alone, and pipelined scripts surviving masters that lost their script cache."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from schemas.outputs import BalanceSnapshot, BonusAccrued
from streams.ledger import CampaignRecorded
from tests.integration.ledger_harness import DAY, T0, Harness, campaign, open_harness, purchase
from tests.redis_helpers import sync_client

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = [f"cl-{n}" for n in range(24)]


@pytest.fixture
def h(redis_cluster_url: str, key_prefix: str) -> Iterator[Harness]:
    with open_harness(redis_cluster_url, key_prefix, partitions=12, cluster=True) as harness:
        yield harness


def _services(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/services.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_up_twice_reuses_the_cluster_of_three_masters(redis_cluster_url: str) -> None:
    first, second = _services("up", "redis-cluster"), _services("up", "redis-cluster")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # the same pids: nothing started twice
    for port in (17001, 17002, 17003):
        assert f"{port} ok" in second.stdout
        with redis.Redis(port=port) as node:
            info = node.cluster("INFO")
        assert (info["cluster_state"], info["cluster_slots_ok"]) == ("ok", "16384")
        assert info["cluster_size"] == "3"  # three masters serving slots


def test_every_key_of_a_shard_is_in_one_slot_and_the_shards_use_every_master(
    h: Harness, redis_cluster_url: str, key_prefix: str
) -> None:
    for n, customer in enumerate(CUSTOMERS):
        h.run(h.ledger.apply(purchase(f"e{n}", customer, "100", T0, channel="web"), T0))
    client = sync_client(redis_cluster_url, cluster=True)
    assert isinstance(client, RedisCluster)
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"{key_prefix}*", count=1000)]
        slots: dict[str, set[int]] = defaultdict(set)
        for key in keys:
            slots[key[len(key_prefix) : key.index("}") + 1]].add(key_slot(key.encode()))
        shards = {h.ledger.shard_of(c) for c in CUSTOMERS}
        assert set(slots) == {f"{{s{shard}}}" for shard in shards}
        assert all(len(found) == 1 for found in slots.values()), slots
        manager = client.nodes_manager
        nodes = {
            manager.get_node_from_slot(slot).name for found in slots.values() for slot in found
        }
        assert len(nodes) == 3, nodes
    finally:
        client.close()


def test_a_campaign_registered_in_its_own_slot_reaches_every_shard(h: Harness) -> None:
    regulars = CUSTOMERS[::2]  # two purchases: segment "regular"
    for customer in CUSTOMERS + regulars:
        h.run(h.ledger.apply(purchase(h.next_id("p"), customer, "10"), T0))
    recorded = h.run(h.ledger.apply(campaign("launch-1", "xmas", 40, "regular"), T0))
    assert recorded == CampaignRecorded("recorded", "xmas", "launch-1")
    pending = True
    while pending:  # every shard's fan-out, batch by batch, until no shard has work left
        steps = [h.run(h.ledger.fanout_step(shard, T0, batch=4)) for shard in range(12)]
        pending = any(steps)
    for customer in CUSTOMERS:
        lots = [
            event
            for event in h.outputs(customer, "accrued")
            if isinstance(event, BonusAccrued) and event.campaign_id == "xmas"
        ]
        assert len(lots) == (customer in regulars), customer
    status = h.run(h.ledger.campaign_status("xmas"))
    assert status is not None
    assert (status.complete, status.granted, status.total) == (True, len(regulars), len(regulars))


def test_timers_fire_on_every_master_after_each_lost_its_scripts(h: Harness) -> None:
    for n, customer in enumerate(CUSTOMERS):  # a web purchase: 20 points pending for 2 days
        h.run(h.ledger.apply(purchase(f"e{n}", customer, "100", T0, channel="web"), T0))
    h.run(h.client.script_flush())  # every master: as after a restart or a failover
    fired = [
        f.customer_id
        for shard in range(h.ledger.partitions)
        for f in h.run(h.ledger.fire_due(shard, T0 + 2 * DAY))
    ]
    assert sorted(fired) == sorted(CUSTOMERS)
    for customer in CUSTOMERS:
        snapshot = h.outputs(customer, "balance")[-1]
        assert isinstance(snapshot, BalanceSnapshot)
        assert (snapshot.balance, snapshot.pending) == (30, 0)
