"""``bonus notify`` as a process: settings from the environment, one JSON line per message,
a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from schemas import Topic, to_json_bytes, topic_name
from streams.settings import Settings

from .kafka_helpers import create_topic, murmur2_producer, produce_all
from .test_notify_consumer import warning

RUN = "import sys; from streams.notify.cli import notify_main; sys.exit(notify_main(sys.argv[1:]))"


def test_the_command_says_each_warning_once_and_stops_cleanly(
    settings: Settings, kafka_bootstrap: str
) -> None:
    topic = topic_name(settings.topic_prefix, Topic.EXPIRY_WARNINGS)
    create_topic(kafka_bootstrap, topic, 2)
    first, second = warning("w1", "c1"), warning("w2", "c2")
    records = [(w.customer_id, to_json_bytes(w)) for w in (first, second, first)]
    produce_all(murmur2_producer(kafka_bootstrap), topic, records)
    env = {
        **os.environ,
        "BONUS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "BONUS_REDIS_URL": settings.redis_url,
        "BONUS_TOPIC_PREFIX": settings.topic_prefix,
        "BONUS_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "BONUS_RULES_FILE": "",
    }
    argv = ["--channel", "log", "--group", settings.consumer_group, "--timezone", "Europe/Paris"]
    process = subprocess.Popen(
        [sys.executable, "-c", RUN, *argv],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    said: list[dict[str, object]] = []
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            record = json.loads(line)
            if record["logger"] == "streams.notify.messages":
                said.append(json.loads(record["message"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while len(said) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        time.sleep(1)  # room for a wrong third message to show up
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
        reader.join(10)
    assert code == 0, "".join(lines)
    assert sorted(str(message["event_id"]) for message in said) == ["w1", "w2"], lines
    assert said[0]["message"] == (
        "Use your 40 bonus points before 01:00 on Friday 01 January — they expire then."
    )
