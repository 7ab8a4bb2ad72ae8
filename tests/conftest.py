"""Shared fixtures: a real Kafka broker and a real redis-server for every test that needs them.

Where they come from, in this order:
1. ``BONUS_KAFKA_BOOTSTRAP`` / ``BONUS_REDIS_URL``, when set (``make test`` sets them);
2. testcontainers, when a Docker engine answers a ping;
3. the project's own ``deploy/local`` services, started (or reused) on 127.0.0.1.
A service that cannot be had fails the test with the reason; nothing is skipped.

With ``BONUS_REDIS_CLUSTER=1`` (``make test-cluster``) ``BONUS_REDIS_URL`` names a node of a Redis
Cluster: the tests' own clients are cluster clients (``tests/redis_helpers.py``), key cleanup
SCANs every master, and the workers they start get the same two variables. Nothing FLUSHes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from redis.exceptions import RedisClusterException, RedisError

from streams.settings import Settings
from tests.integration.kafka_helpers import drop_topics
from tests.redis_helpers import delete_prefix, redis_settings, sync_client

ROOT = Path(__file__).resolve().parents[1]
KAFKA_IMAGE = "apache/kafka:4.1.1"
REDIS_IMAGE = "redis:7.0"
LOCAL_CLUSTER = "redis://127.0.0.1:17001/0"  # deploy/local/local_redis_cluster.py


def _docker_engine_answers() -> bool:
    try:
        import docker  # noqa: PLC0415 - only where testcontainers may be used

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def _local_service(name: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/services.py"), "up", name],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"local {name} could not be started: {result.stderr.strip()}", pytrace=False)


def _check_kafka(bootstrap: str, origin: str) -> str:
    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=15)
    except KafkaException as error:
        pytest.fail(f"Kafka at {bootstrap} ({origin}) does not answer: {error}", pytrace=False)
    return bootstrap


def _check_redis(url: str, origin: str, cluster: bool | None = None) -> str:
    kind = "Redis Cluster" if redis_settings(url, cluster).redis_cluster else "Redis"
    try:
        with sync_client(url, cluster, socket_timeout=5) as client:
            client.ping()
    except (RedisError, RedisClusterException) as error:
        pytest.fail(f"{kind} at {url} ({origin}) does not answer: {error}", pytrace=False)
    return url


@pytest.fixture(scope="session")
def docker_available() -> bool:
    """Whether a Docker engine answers (testcontainers can run)."""
    return _docker_engine_answers()


@pytest.fixture(scope="session")
def kafka_bootstrap(docker_available: bool) -> Iterator[str]:
    """The bootstrap address of a real Kafka broker."""
    if address := os.environ.get("BONUS_KAFKA_BOOTSTRAP"):
        yield _check_kafka(address, "BONUS_KAFKA_BOOTSTRAP")
        return
    if docker_available:
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415

        with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
            yield _check_kafka(container.get_bootstrap_server(), "testcontainers")
        return
    _local_service("kafka")
    yield _check_kafka("127.0.0.1:9092", "deploy/local")


@pytest.fixture(scope="session")
def redis_url(docker_available: bool) -> Iterator[str]:
    """The URL of a real redis-server (of a node of a Redis Cluster under BONUS_REDIS_CLUSTER)."""
    if url := os.environ.get("BONUS_REDIS_URL"):
        yield _check_redis(url, "BONUS_REDIS_URL")
        return
    if redis_settings(LOCAL_CLUSTER).redis_cluster:  # a cluster, but none named: our own
        _local_service("redis-cluster")
        yield _check_redis(LOCAL_CLUSTER, "deploy/local")
        return
    if docker_available:
        from testcontainers.redis import RedisContainer  # noqa: PLC0415

        with RedisContainer(REDIS_IMAGE) as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(6379)
            yield _check_redis(f"redis://{host}:{port}/0", "testcontainers")
        return
    _local_service("redis")
    yield _check_redis("redis://127.0.0.1:6379/0", "deploy/local")


@pytest.fixture(scope="session")
def redis_cluster_url() -> str:
    """A node of the local three-master Redis Cluster (deploy/local), started or reused, for
    the tests that prove the pipeline on a cluster whatever ``BONUS_REDIS_URL`` names."""
    _local_service("redis-cluster")
    return _check_redis(LOCAL_CLUSTER, "deploy/local", cluster=True)


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Redis key prefix of this test alone, so tests never see each other's keys; what the
    test left under it is deleted afterwards (on every master of a cluster)."""
    prefix = f"t{uuid.uuid4().hex[:10]}:"
    yield prefix
    for name, cluster in (("redis_url", None), ("redis_cluster_url", True)):
        if name in request.fixturenames:
            client = sync_client(request.getfixturevalue(name), cluster=cluster)
            try:
                delete_prefix(client, prefix)
            finally:
                client.close()


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A topic prefix of this test alone; its topics are deleted after a test that used Kafka."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield prefix
    if "kafka_bootstrap" in request.fixturenames:
        drop_topics(request.getfixturevalue("kafka_bootstrap"), prefix)


@pytest.fixture
def consumer_group() -> str:
    """A consumer group of this test alone."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(
    kafka_bootstrap: str, redis_url: str, topic_prefix: str, key_prefix: str, consumer_group: str
) -> Settings:
    """Settings that point at the real services, in this test's own topics and key space."""
    return Settings(
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis_url,
        topic_prefix=topic_prefix,
        redis_key_prefix=key_prefix,
        consumer_group=consumer_group,
        partitions=4,
    )
