"""faust-streaming in a real subprocess: its agent consumes a topic and writes to Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.redis_helpers import sync_client

from .kafka_helpers import create_topic, murmur2_producer, produce_all

APP = Path(__file__).with_name("faust_probe_app.py")


def test_faust_agent_consumes_the_topic_and_writes_to_redis(
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    key_prefix: str,
    consumer_group: str,
    tmp_path: Path,
) -> None:
    topic = f"{topic_prefix}probe"
    create_topic(kafka_bootstrap, topic, 2)
    key = f"{key_prefix}probe"
    env = {
        **os.environ,
        "PROBE_BROKER": kafka_bootstrap,
        "PROBE_TOPIC": topic,
        "PROBE_REDIS": redis_url,
        "PROBE_KEY": key,
        "PROBE_GROUP": consumer_group,
        "PROBE_DATADIR": str(tmp_path / "faust"),
    }
    log = (tmp_path / "faust.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, str(APP), "worker", "--loglevel=info", "--without-web"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    client = sync_client(redis_url)
    values = [f"value-{n}".encode() for n in range(20)]
    try:
        produce_all(
            murmur2_producer(kafka_bootstrap), topic, [(f"c{n}", v) for n, v in enumerate(values)]
        )
        deadline = time.monotonic() + 120
        while client.llen(key) < len(values) and time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "faust.log").read_text()[-3000:]
            time.sleep(0.5)
        stored = client.lrange(key, 0, -1)
        assert sorted(stored) == sorted(values), (tmp_path / "faust.log").read_text()[-3000:]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        client.delete(key)
        client.close()
