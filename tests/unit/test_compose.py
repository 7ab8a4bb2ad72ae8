"""docker-compose.yml agrees with the settings object and the local services."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_VARIABLES = {
    "BONUS_KAFKA_BOOTSTRAP",
    "BONUS_REDIS_URL",
    "BONUS_TOPIC_PREFIX",
    "BONUS_RULES_FILE",
    "BONUS_WEB_PORT",
    "BONUS_METRICS_WINDOW",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _published(service: dict[str, Any]) -> set[int]:
    return {int(str(port).split(":")[-2]) for port in service.get("ports", [])}


def test_services_and_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "redis", "worker"} <= set(services)
    for name in ("kafka", "redis", "worker"):
        assert "healthcheck" in services[name], name
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "--appendonly" in services["redis"]["command"]
    assert services["worker"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (ROOT / services["worker"]["build"]["dockerfile"]).exists()


def test_ports_match_the_settings_defaults(compose: dict[str, Any]) -> None:
    defaults = Settings()
    services = compose["services"]
    assert int(defaults.kafka_bootstrap.rsplit(":", 1)[1]) in _published(services["kafka"])
    assert urlsplit(defaults.redis_url).port in _published(services["redis"])
    assert defaults.web_port in _published(services["worker"])


def test_worker_environment_is_the_settings_object(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = {str(k): str(v) for k, v in services["worker"]["environment"].items()}
    fields = {f"BONUS_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert set(env) >= CONTRACT_VARIABLES
    settings = Settings.model_validate(
        {name[len("BONUS_") :].lower(): value for name, value in env.items()}
    )
    host, port = settings.kafka_bootstrap.rsplit(":", 1)
    assert host == "kafka"
    assert f":{port}" in services["kafka"]["environment"]["KAFKA_LISTENERS"]
    assert urlsplit(settings.redis_url).hostname == "redis"
    assert settings.web_port in _published(services["worker"])
