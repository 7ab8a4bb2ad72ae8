"""docker-compose.yml agrees with the settings object, the local services and monitoring."""

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


MONITORING = ("kafka-exporter", "prometheus", "grafana")


def _binds(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (named volumes left out)."""
    binds = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("."):
            binds[target] = (ROOT / source).resolve()
    return binds


def _flag(service: dict[str, Any], name: str) -> str:
    values = [
        str(a).split("=", 1)[1] for a in service["command"] if str(a).startswith(f"--{name}=")
    ]
    assert len(values) == 1, name
    return values[0]


def test_monitoring_services_are_pinned_and_health_checked(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in MONITORING:
        assert "healthcheck" in services[name], name
        image = services[name]["image"]
        assert ":" in image, name
        assert not image.endswith(":latest"), name
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_prometheus_mounts_its_config_and_rules(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    binds = _binds(prometheus)
    assert all(path.is_file() for path in binds.values()), binds
    config_path = _flag(prometheus, "config.file")
    assert binds[config_path] == ROOT / "deploy" / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(binds[config_path].read_text())
    for rule_file in config["rule_files"]:
        assert binds[rule_file] == ROOT / "deploy" / "prometheus" / Path(rule_file).name


def test_prometheus_scrapes_the_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets: dict[str, set[tuple[str, int]]] = {}
    for job in config["scrape_configs"]:
        found = targets.setdefault(job["job_name"], set())
        for sd in job.get("dns_sd_configs", []):
            found |= {(name, int(sd["port"])) for name in sd["names"]}
        for static in job.get("static_configs", []):
            found |= {(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])) for t in static["targets"]}
    assert targets["bonus-workers"] == {("worker", Settings().web_port)}
    ((exporter, port),) = targets["kafka-exporter"]
    assert exporter in services
    assert port in _published(services[exporter])
    for host, _ in set().union(*targets.values()):
        assert host in services or host == "localhost", host


def test_kafka_exporter_reads_the_workers_kafka(compose: dict[str, Any]) -> None:
    services = compose["services"]
    worker_bootstrap = services["worker"]["environment"]["BONUS_KAFKA_BOOTSTRAP"]
    assert _flag(services["kafka-exporter"], "kafka.server") == worker_bootstrap
    assert services["kafka-exporter"]["depends_on"]["kafka"]["condition"] == "service_healthy"
