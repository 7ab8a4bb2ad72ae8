"""Settings: contract names and defaults, every problem listed at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.durations import Duration
from streams.settings import Settings, SettingsError, load_settings


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"BONUS_{name.upper()}", raising=False)
    settings = load_settings()
    assert settings.kafka_bootstrap == "localhost:9092"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.topic_prefix == "bonus."
    assert settings.metrics_window == Duration(seconds=3600)
    assert settings.clock_start is None
    assert settings.clock_speed == 1.0


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONUS_KAFKA_BOOTSTRAP", "k1:9092, k2:9092")
    monkeypatch.setenv("BONUS_METRICS_WINDOW", "PT5M")
    monkeypatch.setenv("BONUS_CLOCK_START", "2026-12-01T00:00:00+03:00")
    monkeypatch.setenv("BONUS_CLOCK_SPEED", "3600")
    monkeypatch.setenv("BONUS_WEB_PORT", "8080")
    settings = load_settings()
    assert settings.kafka_bootstrap == "k1:9092,k2:9092"
    assert settings.metrics_window == Duration(seconds=300)
    assert settings.clock_start == datetime(2026, 11, 30, 21, tzinfo=UTC)
    assert settings.clock_speed == 3600
    assert settings.web_port == 8080


def test_every_problem_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONUS_KAFKA_BOOTSTRAP", "no-port")
    monkeypatch.setenv("BONUS_REDIS_URL", "http://x")
    monkeypatch.setenv("BONUS_WEB_PORT", "99999")
    monkeypatch.setenv("BONUS_METRICS_WINDOW", "an hour")
    monkeypatch.setenv("BONUS_CLOCK_START", "2026-12-01T00:00:00")
    monkeypatch.setenv("BONUS_CLOCK_SPEED", "0")
    monkeypatch.setenv("BONUS_TOPIC_PREFIX", "bad prefix/")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    named = {problem.split(":")[0] for problem in caught.value.problems}
    assert named == {
        "BONUS_KAFKA_BOOTSTRAP",
        "BONUS_REDIS_URL",
        "BONUS_WEB_PORT",
        "BONUS_METRICS_WINDOW",
        "BONUS_CLOCK_START",
        "BONUS_CLOCK_SPEED",
        "BONUS_TOPIC_PREFIX",
    }
    assert "explicit offset" in str(caught.value)


def test_librdkafka_config_uses_the_java_partitioner() -> None:
    config = Settings(kafka_bootstrap="a:1").kafka_config(**{"acks": "all"})
    assert config["partitioner"] == "murmur2_random"
    assert config["bootstrap.servers"] == "a:1"
    assert config["acks"] == "all"
