"""A worker against a Kafka broker that demands SASL_SSL (SCRAM-SHA-512) and a Redis that demands
TLS and an ACL user; wrong credentials stop a worker in seconds; no password is ever shown.

The secure broker and redis-server are this module's own (``deploy/local/secure.py``, on ports
19192 and 16479), started here and stopped when the module is done.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas import Topic
from tests.e2e.harness import BONUS, ROOT, Pipeline, free_port, purchase, started

# deploy/local is a folder of standard-library scripts, not a package.
sys.path.insert(0, str(ROOT / "deploy" / "local"))
import secure

SPEED = 3600.0
RULES = """
timezone: UTC
rules:
  - id: cashback
    event: purchase
    points: {percent: 10}
    valid_for: P7D
"""


@pytest.fixture(scope="module")
def endpoints() -> Iterator[secure.Endpoints]:
    """The secure broker and redis-server, running for this module."""
    found = secure.up()
    try:
        yield found
    finally:
        secure.down()


@pytest.fixture(scope="module")
def pipeline(
    endpoints: secure.Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """One worker that reaches Kafka and Redis only with its credentials, over TLS."""
    workdir: Path = tmp_path_factory.mktemp("secure")
    env = endpoints.environment()
    yield from started(
        Pipeline(endpoints.bootstrap, endpoints.redis_url, RULES, workdir, SPEED, extra_env=env)
    )


def secrets_of(endpoints: secure.Endpoints) -> list[str]:
    """The passwords that must never be shown."""
    return [endpoints.kafka_password, endpoints.redis_password]


def test_a_purchase_becomes_a_lot_over_sasl_ssl_and_tls_redis(pipeline: Pipeline) -> None:
    pipeline.send(Topic.PURCHASES, "s1", purchase("s1-p1", "s1", "1000", pipeline.now()))
    (accrued,) = pipeline.watcher.count(Topic.ACCRUALS, 1, timeout=30, customer_id="s1")
    assert accrued.value["type"] == "bonus.accrued"
    assert accrued.value["points"] == 100
    status, view = pipeline.workers[0].get_json("/customers/s1")
    assert status == 200
    assert view["balance"] == 100


def test_no_password_in_logs_metrics_or_dead_letters(
    pipeline: Pipeline, endpoints: secure.Endpoints
) -> None:
    pipeline.send(Topic.PURCHASES, "s2", b"{not json")
    (dead,) = pipeline.watcher.count(Topic.DLQ, 1, timeout=30)
    _, metrics = pipeline.workers[0].get("/metrics")
    shown = [str(dead.value), metrics.decode(), pipeline.workers[0].log()]
    for text in shown:
        for secret in secrets_of(endpoints):
            assert secret not in text
    assert "bonus_" in shown[1]


def test_the_services_refuse_clients_without_credentials_or_tls(
    endpoints: secure.Endpoints,
) -> None:
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=secure.REDIS_PORT, socket_timeout=3).ping()
    anonymous = redis.Redis(
        host="127.0.0.1",
        port=secure.REDIS_PORT,
        ssl=True,
        ssl_ca_certs=str(endpoints.ca_file),
        socket_timeout=3,
    )
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    plaintext = AdminClient({"bootstrap.servers": endpoints.bootstrap, "log_level": 0})
    with pytest.raises(KafkaException):
        plaintext.list_topics(timeout=3)


def run_worker(env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """``bonus worker`` with ``env`` on top of ours, expected to fail: (result, seconds taken)."""
    began = time.monotonic()
    result = subprocess.run(
        [BONUS, "worker"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )
    return result, time.monotonic() - began


def worker_env(pipeline: Pipeline, **changes: str) -> dict[str, str]:
    """The environment of a worker of ``pipeline`` (on a free port), with ``changes``."""
    return {**pipeline.env(free_port()), **changes}


def test_a_wrong_kafka_password_stops_the_worker_at_once(
    pipeline: Pipeline, endpoints: secure.Endpoints, tmp_path: Path
) -> None:
    wrong = "wrong-kafka-" + endpoints.kafka_password[:4]
    env = worker_env(pipeline, BONUS_KAFKA_SASL_PASSWORD=wrong)
    result, seconds = run_worker(env, tmp_path)
    assert result.returncode == 1
    assert seconds < 15
    assert "Kafka authentication failed for user bonus (SCRAM-SHA-512)" in result.stderr
    for secret in [wrong, *secrets_of(endpoints)]:
        assert secret not in result.stdout + result.stderr


def test_a_wrong_redis_password_stops_the_worker_at_once(
    pipeline: Pipeline, endpoints: secure.Endpoints, tmp_path: Path
) -> None:
    wrong = "wrong-redis-" + endpoints.redis_password[:4]
    url = endpoints.redis_url.replace(endpoints.redis_password, wrong)
    result, seconds = run_worker(worker_env(pipeline, BONUS_REDIS_URL=url), tmp_path)
    assert result.returncode == 1
    assert seconds < 15
    assert "Redis authentication failed for user bonus at rediss://bonus:***@" in result.stderr
    for secret in [wrong, *secrets_of(endpoints)]:
        assert secret not in result.stdout + result.stderr


def test_bonus_settings_masks_every_password(
    pipeline: Pipeline, endpoints: secure.Endpoints, tmp_path: Path
) -> None:
    result = subprocess.run(
        [BONUS, "settings"],
        env={**os.environ, **worker_env(pipeline)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=tmp_path,
    )
    assert "BONUS_KAFKA_SASL_PASSWORD=***" in result.stdout
    assert f"BONUS_REDIS_URL=rediss://bonus:***@127.0.0.1:{secure.REDIS_PORT}/0" in result.stdout
    for secret in secrets_of(endpoints):
        assert secret not in result.stdout + result.stderr


def test_a_certificate_from_another_ca_stops_the_worker_at_once(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    stranger = str(secure.certificates(tmp_path / "other").ca)
    env = worker_env(pipeline, BONUS_KAFKA_SSL_CA_FILE=stranger, BONUS_REDIS_SSL_CA_FILE=stranger)
    result, seconds = run_worker(env, tmp_path)
    assert result.returncode == 1
    assert seconds < 15
    kafka, redis_line = (
        [line for line in result.stderr.splitlines() if line.strip().startswith(service)]
        for service in ("Kafka at", "Redis at")
    )
    assert "certificate verify failed" in kafka[0]
    assert "certificate verify failed" in redis_line[0].lower()
