"""The Redis client factory: BONUS_REDIS_CLUSTER chooses redis-py's cluster clients (no network
is touched to build an asyncio client of either kind), and a bad value refuses the start."""

from __future__ import annotations

import pytest
import redis.asyncio
import redis.asyncio.cluster

from streams.redis_clients import async_redis
from streams.settings import SettingsError, load_settings


def test_a_single_redis_unless_cluster_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BONUS_REDIS_CLUSTER", raising=False)
    settings = load_settings(redis_url="redis://127.0.0.1:1/0")
    assert settings.redis_cluster is False
    client = async_redis(settings)
    assert isinstance(client, redis.asyncio.Redis)


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_cluster_mode_gives_a_cluster_client_of_the_named_node(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BONUS_REDIS_CLUSTER", value)
    settings = load_settings(redis_url="redis://127.0.0.1:17001/0")
    assert settings.redis_cluster is True
    client = async_redis(settings)
    assert isinstance(client, redis.asyncio.cluster.RedisCluster)
    assert [(node.host, node.port) for node in client.startup_nodes] == [("127.0.0.1", 17001)]


def test_a_value_that_is_no_boolean_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONUS_REDIS_CLUSTER", "maybe")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert any(p.startswith("BONUS_REDIS_CLUSTER:") for p in refused.value.problems)
