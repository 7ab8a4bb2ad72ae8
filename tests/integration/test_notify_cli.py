"""``bonus notify`` as a process: settings from the environment, one JSON line per message,
a clean stop on SIGTERM."""

from __future__ import annotations

import os

from schemas import Topic, to_json_bytes, topic_name
from streams.settings import Settings

from .kafka_helpers import create_topic, murmur2_producer, produce_all
from .notify_process import NotifierProcess
from .test_notify_consumer import warning


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
    notifier = NotifierProcess(argv, env)
    try:
        notifier.wait_for(2, 60)
    finally:
        code = notifier.stop()
    said, lines = notifier.said, notifier.lines
    assert code == 0, "".join(lines)
    assert sorted(str(message["event_id"]) for message in said) == ["w1", "w2"], lines
    assert said[0]["message"] == (
        "Use your 40 bonus points before 01:00 on Friday 01 January — they expire then."
    )
