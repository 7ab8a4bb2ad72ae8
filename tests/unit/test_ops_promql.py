"""What the PromQL of alert rules and dashboard may name: the workers' metrics, and a few others.

The helpers here read the metric names and label names out of a PromQL expression (strings,
matchers and ranges first, so that a value or a Grafana variable is never taken for a metric),
and list what the workers expose, built from ``create_metrics`` on a fresh registry: a counter
is scraped as ``<name>_total``, a histogram as ``_bucket`` (with ``le``), ``_sum`` and
``_count``. ``test_ops_prometheus`` and ``test_ops_grafana`` use them; the tests below pin them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from streams.runtime.metrics import Metrics, create_metrics

# Labels Prometheus itself adds to every scraped series.
TARGET_LABELS = frozenset({"instance", "job"})

# Metrics that are not the workers': Prometheus' own ``up`` and the Kafka exporter's consumer
# lag (danielqsj/kafka-exporter), since lag is measured by Kafka, outside the workers.
EXTERNAL_METRICS: dict[str, frozenset[str]] = {
    "up": TARGET_LABELS,
    "kafka_consumergroup_lag": frozenset({"consumergroup", "topic", "partition"}) | TARGET_LABELS,
    "kafka_consumergroup_lag_sum": frozenset({"consumergroup", "topic"}) | TARGET_LABELS,
}

_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
    | {"and", "or", "unless", "offset", "inf", "nan", "atan2"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_IDENTIFIER = re.compile(r"(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?")


@dataclass
class Query:
    """What one PromQL expression refers to."""

    metrics: set[str] = field(default_factory=set)
    # Label names used in matchers, per metric name ("" for a selector without a name).
    matchers: dict[str, set[str]] = field(default_factory=dict)
    grouping: set[str] = field(default_factory=set)


def parse_promql(expr: str) -> Query:
    """The metric names, matcher labels and grouping labels of ``expr``."""
    query = Query()
    text = _STRING.sub('""', expr)
    for name, inner in _SELECTOR.findall(text):
        query.matchers.setdefault(name, set()).update(_MATCHER.findall(inner))
        if name:
            query.metrics.add(name)
    text = _RANGE.sub(" ", _SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text))
    for labels in _GROUPING.findall(text):
        query.grouping.update(label.strip() for label in labels.split(",") if label.strip())
    text = _GROUPING.sub(" ", text)
    for name, call in _IDENTIFIER.findall(text):
        if not call and name not in _KEYWORDS:
            query.metrics.add(name)
    return query


def worker_metrics() -> dict[str, frozenset[str]]:
    """Every series name a worker exposes, with its label names (target labels included)."""
    metrics = create_metrics(CollectorRegistry())
    series: dict[str, frozenset[str]] = {}
    for collector in vars(metrics).values():
        if isinstance(collector, CollectorRegistry):
            continue
        labels = frozenset(collector._labelnames) | TARGET_LABELS
        for family in collector.describe():
            series.update(_series_names(family.name, family.type, labels))
    return series


def _series_names(name: str, kind: str, labels: frozenset[str]) -> dict[str, frozenset[str]]:
    if kind == "counter":
        return {f"{name}_total": labels, f"{name}_created": labels}
    if kind == "histogram":
        return {
            f"{name}_bucket": labels | {"le"},
            f"{name}_sum": labels,
            f"{name}_count": labels,
            f"{name}_created": labels,
        }
    if kind == "summary":
        return {name: labels | {"quantile"}, f"{name}_sum": labels, f"{name}_count": labels}
    if kind == "info":
        return {f"{name}_info": labels}
    return {name: labels}


def known_metrics() -> dict[str, frozenset[str]]:
    """The workers' series and the whitelisted external ones, with their label names."""
    return {**worker_metrics(), **EXTERNAL_METRICS}


def problems_of(expr: str, known: dict[str, frozenset[str]]) -> list[str]:
    """Why ``expr`` names something no scrape provides (empty when it is fine)."""
    query = parse_promql(expr)
    problems = [f"unknown metric {name}" for name in sorted(query.metrics - set(known))]
    labels_here: set[str] = set()
    for name in query.metrics & set(known):
        labels_here |= known[name]
    for name, used in query.matchers.items():
        allowed = known.get(name, labels_here) if name else labels_here
        problems += [f"{name or '{}'} has no label {label}" for label in sorted(used - allowed)]
    problems += [f"no metric here has label {label}" for label in query.grouping - labels_here]
    return problems


def substitute_grafana(expr: str, variables: dict[str, str]) -> str:
    """``expr`` with Grafana's variables replaced, as Grafana would before sending it."""
    text = expr.replace("$__rate_interval", "1m").replace("$__interval", "1m")
    for name, value in variables.items():
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return text


def any_of(values: Any) -> list[str]:
    """The strings of a list (or one string), for YAML fields that take either."""
    return [values] if isinstance(values, str) else [str(v) for v in values]


# ---- the helpers themselves ------------------------------------------------------------------


def test_parse_finds_metrics_not_functions_values_or_variables() -> None:
    query = parse_promql(
        "histogram_quantile(0.99, sum by (le, topic) (rate(bonus_processing_seconds_bucket"
        '{instance=~"$instance", topic!="up"}[$__rate_interval]))) > 1e-3'
    )
    assert query.metrics == {"bonus_processing_seconds_bucket"}
    assert query.grouping == {"le", "topic"}
    assert query.matchers == {"bonus_processing_seconds_bucket": {"instance", "topic"}}


def test_parse_binary_operators_and_absent() -> None:
    query = parse_promql(
        "sum by (instance) (bonus_outbox_backlog_entries) > 0\n"
        "unless on (instance) sum by (instance) (rate(bonus_relayed_events_total[5m])) > 0"
        ' or absent(up{job="kafka-exporter"} == 1)'
    )
    assert query.metrics == {"bonus_outbox_backlog_entries", "bonus_relayed_events_total", "up"}
    assert query.grouping == {"instance"}


def test_worker_series_carry_the_exposition_suffixes() -> None:
    series = worker_metrics()
    assert "bonus_events_consumed_total" in series
    assert "bonus_events_consumed" not in series
    assert {"topic", "outcome", "instance"} <= series["bonus_events_consumed_total"]
    for suffix in ("_bucket", "_sum", "_count"):
        assert f"bonus_processing_seconds{suffix}" in series
    assert "le" in series["bonus_processing_seconds_bucket"]
    assert "bonus_processing_seconds" not in series
    assert "bonus_owned_partitions" in series


def test_worker_series_match_what_a_registry_exposes() -> None:
    # Give every labelled metric one child, then compare with the real exposition.
    registry = CollectorRegistry()
    metrics: Metrics = create_metrics(registry)
    for collector in vars(metrics).values():
        if isinstance(collector, CollectorRegistry):
            continue
        if collector._labelnames:
            collector.labels(*["x"] * len(collector._labelnames))
    exposed = {sample.name for family in registry.collect() for sample in family.samples}
    assert exposed == set(worker_metrics())


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("rate(bonus_events_consumed[5m])", "unknown metric bonus_events_consumed"),
        ('bonus_points_total{customer="c1"}', "bonus_points_total has no label customer"),
        ("sum by (code) (bonus_owned_partitions)", "no metric here has label code"),
    ],
)
def test_problems_name_what_is_wrong(expr: str, problem: str) -> None:
    assert problem in problems_of(expr, known_metrics())


def test_substitute_grafana_variables() -> None:
    assert (
        substitute_grafana(
            'x{a=~"$instance",b="${group}"}[$__rate_interval]', {"instance": ".*", "group": "g"}
        )
        == 'x{a=~".*",b="g"}[1m]'
    )
