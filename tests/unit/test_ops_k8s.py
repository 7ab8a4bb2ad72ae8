"""The Kubernetes manifests parse and agree with the settings, the rules loader and each other."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from schemas import CATALOG, INPUT_TOPICS, topic_name
from streams.rules.loader import parse_rules
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SETTING_NAMES = {f"BONUS_{name.upper()}" for name in Settings.model_fields}
# The node the workers are sized for: 2 cores, 24 GiB.
NODE_CPU = 2.0
NODE_MEMORY = 24 * 2**30
_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9, "": 1}

Manifest = dict[str, Any]


def _documents() -> list[tuple[str, Manifest]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                found.append((path.name, doc))
    return found


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], Manifest]:
    by_kind: dict[tuple[str, str], Manifest] = {}
    for name, doc in _documents():
        if doc["kind"] == "Kustomization":
            continue
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in by_kind, f"{key} twice ({name})"
        by_kind[key] = doc
    return by_kind


@pytest.fixture(scope="module")
def settings_map(manifests: dict[tuple[str, str], Manifest]) -> dict[str, str]:
    data: dict[str, str] = manifests["ConfigMap", "bonus-settings"]["data"]
    return data


@pytest.fixture(scope="module")
def worker(manifests: dict[tuple[str, str], Manifest]) -> Manifest:
    return manifests["Deployment", "bonus-worker"]


def _container(workload: Manifest) -> Manifest:
    containers: list[Manifest] = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _cpu(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _memory(quantity: str | int) -> int:
    match = re.fullmatch(r"(\d+)([KMG]i?)?", str(quantity))
    assert match is not None, quantity
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2) or ""]


def _env_names(container: Manifest, manifests: dict[tuple[str, str], Manifest]) -> set[str]:
    """Every variable the container gets: explicit env and the keys of envFrom sources."""
    names = {item["name"] for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if ref in source:
                doc = manifests[kind, source[ref]["name"]]
                names |= set(doc.get("data", {})) | set(doc.get("stringData", {}))
    return names


def test_every_manifest_parses_into_the_namespace() -> None:
    docs = _documents()
    assert docs
    namespaces = {doc["metadata"]["name"] for _, doc in docs if doc["kind"] == "Namespace"}
    assert namespaces == {"bonus"}
    for name, doc in docs:
        assert doc.get("apiVersion"), name
        if doc["kind"] == "Kustomization":
            assert doc["namespace"] == "bonus"
            continue
        assert doc["metadata"]["name"], name
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "bonus", (name, doc["kind"])


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_configmap_holds_settings_only_and_they_validate(settings_map: dict[str, str]) -> None:
    assert set(settings_map) <= SETTING_NAMES, set(settings_map) - SETTING_NAMES
    assert "BONUS_REDIS_URL" not in settings_map, "a Redis URL may carry a password: Secret"
    assert all(isinstance(value, str) for value in settings_map.values()), "quote numbers"
    Settings.model_validate({k[len("BONUS_") :].lower(): v for k, v in settings_map.items()})


def test_secret_holds_the_redis_url(manifests: dict[tuple[str, str], Manifest]) -> None:
    secret = manifests["Secret", "bonus-redis"]
    values = {**secret.get("data", {}), **secret.get("stringData", {})}
    assert set(values) == {"BONUS_REDIS_URL"}
    Settings(redis_url=secret["stringData"]["BONUS_REDIS_URL"])


@pytest.mark.parametrize(
    ("kind", "name"), [("Deployment", "bonus-worker"), ("Job", "bonus-topics")]
)
def test_environment_is_the_settings_object(
    manifests: dict[tuple[str, str], Manifest], kind: str, name: str
) -> None:
    names = _env_names(_container(manifests[kind, name]), manifests)
    assert names <= SETTING_NAMES, names - SETTING_NAMES
    assert "BONUS_KAFKA_BOOTSTRAP" in names


def test_worker_runs_bonus_worker_on_the_web_port(
    worker: Manifest, settings_map: dict[str, str]
) -> None:
    container = _container(worker)
    assert container["args"] == ["worker"]
    port = int(settings_map["BONUS_WEB_PORT"])
    assert [p["containerPort"] for p in container["ports"]] == [port]
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == port
    assert annotations["prometheus.io/path"] == "/metrics"


def test_probes_hit_healthz_on_the_web_port(worker: Manifest, settings_map: dict[str, str]) -> None:
    container = _container(worker)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        check = container[probe]["httpGet"]
        assert check["path"] == "/healthz", probe
        assert check["port"] == int(settings_map["BONUS_WEB_PORT"]), probe


def test_resources_fit_the_node(worker: Manifest) -> None:
    resources = _container(worker)["resources"]
    requests, limits = resources["requests"], resources["limits"]
    assert 0 < _cpu(requests["cpu"]) <= _cpu(limits["cpu"]) <= NODE_CPU
    assert 0 < _memory(requests["memory"]) <= _memory(limits["memory"]) <= NODE_MEMORY


def test_worker_is_given_time_to_leave_the_group(worker: Manifest) -> None:
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30


def test_rules_file_is_mounted_where_the_settings_say(
    manifests: dict[tuple[str, str], Manifest], worker: Manifest, settings_map: dict[str, str]
) -> None:
    path = PurePosixPath(settings_map["BONUS_RULES_FILE"])
    pod = worker["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in _container(worker)["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[str(path.parent)])
    rules = manifests["ConfigMap", volume["configMap"]["name"]]["data"][path.name]
    parse_rules(rules, "deploy/k8s/configmap.yaml")  # raises, listing every problem


def test_service_reaches_the_worker_port(
    manifests: dict[tuple[str, str], Manifest], worker: Manifest, settings_map: dict[str, str]
) -> None:
    service = manifests["Service", "bonus-worker"]["spec"]
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in _container(worker)["ports"]}
    (port,) = service["ports"]
    target = port["targetPort"]
    assert ports.get(target, target) == int(settings_map["BONUS_WEB_PORT"])


def test_scaledobject_scales_the_workers_on_group_lag(
    manifests: dict[tuple[str, str], Manifest], worker: Manifest, settings_map: dict[str, str]
) -> None:
    settings = Settings.model_validate(
        {k[len("BONUS_") :].lower(): v for k, v in settings_map.items()}
    )
    assert settings.consumer_group == Settings().consumer_group, "alerts and dashboard use it"
    scaled = manifests["ScaledObject", "bonus-worker"]["spec"]
    assert scaled["scaleTargetRef"]["name"] == worker["metadata"]["name"]
    assert scaled["maxReplicaCount"] == int(settings_map["BONUS_PARTITIONS"])
    assert scaled["minReplicaCount"] >= 1, "timers need a running worker"
    customer_inputs = {
        topic_name(settings.topic_prefix, t) for t in INPUT_TOPICS if CATALOG[t].co_partitioned
    }
    topics = set()
    for trigger in scaled["triggers"]:
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == settings.consumer_group
        assert meta["bootstrapServers"] == settings.kafka_bootstrap
        assert int(meta["lagThreshold"]) > 0
        topics.add(meta["topic"])
    assert topics == customer_inputs


def test_topics_job_creates_the_topics(
    manifests: dict[tuple[str, str], Manifest], worker: Manifest
) -> None:
    job = _container(manifests["Job", "bonus-topics"])
    assert job["args"] == ["topics", "create"]
    assert job["image"] == _container(worker)["image"]


def test_cluster_prometheus_scrapes_the_worker_pods(
    worker: Manifest, settings_map: dict[str, str]
) -> None:
    prometheus = ROOT / "deploy" / "prometheus"
    config = yaml.safe_load((prometheus / "prometheus-k8s.yml").read_text())
    compose_config = yaml.safe_load((prometheus / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # The alerts select these job names, wherever Prometheus runs.
    compose_jobs = {job["job_name"] for job in compose_config["scrape_configs"]}
    assert set(jobs) >= compose_jobs - {"prometheus"}
    assert config["rule_files"] == compose_config["rule_files"]
    workers = jobs["bonus-workers"]
    assert [sd["namespaces"]["names"] for sd in workers["kubernetes_sd_configs"]] == [["bonus"]]
    keep = {
        rule["source_labels"][0]: rule["regex"]
        for rule in workers["relabel_configs"]
        if rule.get("action") == "keep"
    }
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert (
        keep["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
        == labels["app.kubernetes.io/name"]
    )
    assert keep["__meta_kubernetes_pod_container_port_number"] == settings_map["BONUS_WEB_PORT"]
