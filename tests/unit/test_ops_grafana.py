"""The Grafana provisioning and dashboard agree with the metrics, the settings and compose."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from streams.settings import Settings
from tests.unit.test_ops_promql import known_metrics, parse_promql, problems_of, substitute_grafana

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
PROVISIONING = GRAFANA / "provisioning"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def _yaml(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    assert [path.name for path in DASHBOARDS] == ["bonus-streams.json"]
    loaded: dict[str, Any] = json.loads(DASHBOARDS[0].read_text())
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml(ROOT / "docker-compose.yml")


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # a collapsed row holds its panels
    return panels


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {var["name"]: var for var in dashboard["templating"]["list"]}


def _queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    values = {"instance": ".*", "group": Settings().consumer_group}
    return [
        (panel["title"], substitute_grafana(target["expr"], values))
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])
    ]


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to the repository) of a service's bind mounts."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith("."):
            mounts[target] = source
    return mounts


def test_datasource_is_the_compose_prometheus(compose: dict[str, Any]) -> None:
    sources = _yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert len(sources) == 1
    source = sources[0]
    assert source["type"] == "prometheus"
    assert source["isDefault"] is True
    url = urlsplit(source["url"])
    assert url.hostname in compose["services"]
    assert url.hostname == "prometheus"
    assert f"{url.port}:{url.port}" in compose["services"]["prometheus"]["ports"]


def test_dashboard_provider_reads_the_mounted_dashboards(compose: dict[str, Any]) -> None:
    providers = _yaml(PROVISIONING / "dashboards" / "bonus-streams.yml")["providers"]
    mounts = _mounts(compose["services"]["grafana"])
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    for provider in providers:
        assert provider["type"] == "file"
        source = mounts[provider["options"]["path"]]
        assert (ROOT / source).resolve() == GRAFANA / "dashboards"


def test_dashboard_layout(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "bonus-streams"
    panels = _panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]
            ref_ids = [target["refId"] for target in panel["targets"]]
            assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_panels_use_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    variable = _variables(dashboard)["datasource"]
    assert variable["type"] == "datasource"
    assert variable["query"] == "prometheus"
    for panel in _panels(dashboard):
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_variables_name_known_metrics_and_the_consumer_group(dashboard: dict[str, Any]) -> None:
    variables = _variables(dashboard)
    assert variables["group"]["current"]["value"] == Settings().consumer_group
    query = variables["instance"]["query"]
    text = query["query"] if isinstance(query, dict) else query
    match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", text)
    assert match is not None
    assert "instance" in known_metrics()[match.group(1)]
    used = {name for _, expr in _queries(dashboard) for name in re.findall(r"\$\{?(\w+)", expr)}
    assert used <= set(variables), used - set(variables)


def test_queries_name_only_known_metrics(dashboard: dict[str, Any]) -> None:
    known = known_metrics()
    problems = [(title, problems_of(expr, known)) for title, expr in _queries(dashboard)]
    assert not [found for found in problems if found[1]]


@pytest.mark.parametrize(
    ("what", "metric", "needle"),
    [
        ("throughput by topic and outcome", "bonus_events_consumed_total", "(topic, outcome)"),
        ("latency quantiles", "bonus_processing_seconds_bucket", "histogram_quantile"),
        ("consumer lag", "kafka_consumergroup_lag", ""),
        ("timer lag", "bonus_timer_lag_seconds", ""),
        ("outbox backlog", "bonus_outbox_backlog_entries", ""),
        ("accrued by rule", "bonus_points_total", 'kind="accrued"'),
        ("redeemed by rule", "bonus_points_total", 'kind="redeemed"'),
        ("burned by rule", "bonus_points_total", 'kind="burned"'),
        ("clawed back by rule", "bonus_points_total", 'kind="clawed_back"'),
        ("warnings", "bonus_expiry_warnings_total", ""),
        ("burns", "bonus_relayed_events_total", 'type="burned"'),
        ("DLQ rate", "bonus_dead_letters_total", "rate("),
        ("owned partitions", "bonus_owned_partitions", ""),
    ],
)
def test_dashboard_shows(dashboard: dict[str, Any], what: str, metric: str, needle: str) -> None:
    assert any(
        metric in parse_promql(expr).metrics and needle in expr for _, expr in _queries(dashboard)
    ), what


@pytest.mark.parametrize("kind", ["accrued", "redeemed", "burned", "clawed_back"])
def test_points_flow_by_rule(dashboard: dict[str, Any], kind: str) -> None:
    assert any(
        f'kind="{kind}"' in expr and "rule" in parse_promql(expr).grouping
        for _, expr in _queries(dashboard)
    ), kind
