"""deploy/local: a second `up` starts nothing twice, and what it runs is really ready."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "deploy/local/services.py"


def _services(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SERVICES), *args], capture_output=True, text=True, check=False
    )


def test_up_twice_reuses_what_runs(kafka_bootstrap: str, redis_url: str) -> None:
    first = _services("up")
    second = _services("up")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    # The same processes answer both times: no second broker, no second redis-server.
    assert first.stdout == second.stdout
    assert "kafka: running at 127.0.0.1:9092" in second.stdout
    assert "redis: running at 127.0.0.1:6379" in second.stdout
    status = _services("status")
    assert status.stdout == second.stdout


def test_redis_we_start_keeps_an_append_only_file() -> None:
    up = _services("up", "redis")
    assert up.returncode == 0, up.stderr
    client = redis.Redis(host="127.0.0.1", port=6379, decode_responses=True)
    try:
        appendonly = client.config_get("appendonly")["appendonly"]
    finally:
        client.close()
    if "ours" in up.stdout:
        assert appendonly == "yes"
    else:
        # A server someone else started is reused as it is; say so rather than pass silently.
        assert "not started by this project" in up.stdout


def test_port_taken_by_something_else_is_one_clear_line(tmp_path: Path) -> None:
    # Run the probe against a port held by a plain TCP server that is not Kafka.
    code = (
        "import socket, sys; sys.path.insert(0, 'deploy/local'); import procs;"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen();"
        "port = s.getsockname()[1];"
        "print(procs.kafka_metadata('127.0.0.1', port), procs.redis_ping('127.0.0.1', port))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.split() == ["None", "False"]
