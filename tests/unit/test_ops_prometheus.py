"""The Prometheus config and alert rules agree with the metrics, the settings and the runbook."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import Settings
from tests.unit.test_ops_promql import any_of, known_metrics, problems_of

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RUNBOOK = ROOT / "deploy" / "RUNBOOK.md"
SEVERITIES = {"critical", "warning", "info"}


def _load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), path
    return loaded


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return _load(PROMETHEUS / "prometheus.yml")


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    groups = _load(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _alerts(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for rule in rules if "alert" in rule]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def runbook_anchors() -> set[str]:
    """The anchors of every heading of the runbook (outside code blocks)."""
    anchors: set[str] = set()
    in_code = False
    for line in RUNBOOK.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"#{1,6}\s+(.*)", line)):
            anchors.add(github_slug(match.group(1)))
    return anchors


def test_config_evaluates_the_alert_rules(config: dict[str, Any]) -> None:
    files = [Path(name).name for name in any_of(config["rule_files"])]
    assert files == ["alerts.yml"]
    assert all((PROMETHEUS / name).is_file() for name in files)


def test_workers_are_scraped_on_the_web_port(config: dict[str, Any]) -> None:
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    workers = jobs["bonus-workers"]
    assert workers.get("metrics_path", "/metrics") == "/metrics"
    targets = [
        (name, sd["port"]) for sd in workers.get("dns_sd_configs", []) for name in sd["names"]
    ] + [
        (host, int(port))
        for static in workers.get("static_configs", [])
        for host, port in (target.rsplit(":", 1) for target in static["targets"])
    ]
    assert targets, "the bonus-workers job scrapes nothing"
    assert {port for _, port in targets} == {Settings().web_port}
    assert "kafka-exporter" in jobs, "consumer lag comes from the Kafka exporter"


def test_every_alert_is_complete(rules: list[dict[str, Any]]) -> None:
    alerts = _alerts(rules)
    names = [alert["alert"] for alert in alerts]
    assert len(names) == len(set(names)), "alert names repeat"
    for alert in alerts:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", alert["alert"]), alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES, alert["alert"]
        assert re.fullmatch(r"\d+[smh]", str(alert.get("for", ""))), alert["alert"]
        annotations = alert["annotations"]
        for key in ("summary", "description", "runbook_url"):
            assert str(annotations.get(key, "")).strip(), (alert["alert"], key)


def test_every_alert_has_its_runbook_section(rules: list[dict[str, Any]]) -> None:
    anchors = runbook_anchors()
    for alert in _alerts(rules):
        path, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert (ROOT / path).resolve() == RUNBOOK, alert["alert"]
        assert anchor == github_slug(alert["alert"]), alert["alert"]
        assert anchor in anchors, f"RUNBOOK.md has no section for {alert['alert']}"


def test_runbook_has_no_section_for_an_alert_that_is_gone(rules: list[dict[str, Any]]) -> None:
    alert_like = set(re.findall(r"^## ([A-Z][a-z]+[A-Z][A-Za-z]+)$", RUNBOOK.read_text(), re.M))
    assert alert_like <= {alert["alert"] for alert in _alerts(rules)}


def test_runbook_links_resolve() -> None:
    anchors = runbook_anchors()
    links = re.findall(r"\]\(#([^)]+)\)", RUNBOOK.read_text())
    assert links
    assert set(links) <= anchors, set(links) - anchors


def test_runbook_python_runs_against_this_code() -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", RUNBOOK.read_text(), re.M | re.S)
    assert blocks, "the runbook shows how to replay the DLQ in Python"
    for block in blocks:
        tree = ast.parse(block)
        compile(tree, "RUNBOOK.md", "exec")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"


def test_alert_expressions_name_only_known_metrics(rules: list[dict[str, Any]]) -> None:
    known = known_metrics()
    problems = {
        rule.get("alert", rule.get("record")): problems_of(rule["expr"], known) for rule in rules
    }
    assert not {name: found for name, found in problems.items() if found}


@pytest.mark.parametrize(
    "needle",
    [
        "kafka_consumergroup_lag",
        "bonus_timer_lag_seconds",
        "bonus_outbox_backlog_entries",
        "bonus_dead_letters_total",
        "bonus_owned_partitions",
        'up{job="bonus-workers"} == 0',
    ],
)
def test_each_alert_the_issue_asks_for_exists(rules: list[dict[str, Any]], needle: str) -> None:
    assert any(needle in alert["expr"] for alert in _alerts(rules)), needle


def test_alerts_use_the_settings_group_and_partition_count(rules: list[dict[str, Any]]) -> None:
    defaults = Settings()
    groups = {
        g for alert in _alerts(rules) for g in re.findall(r'consumergroup="([^"]*)"', alert["expr"])
    }
    assert groups == {defaults.consumer_group}
    counts = [
        int(count)
        for alert in _alerts(rules)
        for count in re.findall(r"sum\(bonus_owned_partitions\)\s*<\s*(\d+)", alert["expr"])
    ]
    assert counts == [defaults.partitions]


def test_worker_alerts_select_the_worker_job(
    config: dict[str, Any], rules: list[dict[str, Any]]
) -> None:
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    used = {job for rule in rules for job in re.findall(r'job="([^"]*)"', rule["expr"])}
    assert used <= jobs


def test_every_alert_has_a_promtool_unit_test(rules: list[dict[str, Any]]) -> None:
    tests = _load(PROMETHEUS / "alerts.test.yml")
    assert tests["rule_files"] == ["alerts.yml"]
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"]}
    assert tested == {alert["alert"] for alert in _alerts(rules)}
