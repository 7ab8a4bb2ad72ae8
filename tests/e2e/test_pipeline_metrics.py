"""``bonus.metrics`` through two real workers (1 real second = 1 service hour = one window):
the published windows add up to the ledger's events on the output topics, per dimension, and
each window is published once (a repeat would carry the same event_id and payload).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import Topic, parse_time
from streams.analytics.report import report_main
from tests.e2e.harness import Output, Pipeline, iso, purchase, started
from tests.metrics_reference import FIELDS, reference_totals

SPEED = 3600.0
HOUR = timedelta(hours=1)
RULES = """
timezone: UTC
warning_coalesce: PT1H
rules:
  - id: cashback
    event: purchase
    points: {percent: 10}
    valid_for: PT12H
    warn_before: [PT4H]
  - id: big-order
    event: purchase
    points: {fixed: 50}
    valid_for: PT3H
    when: {min_amount: 1000}
"""
CUSTOMERS = 8


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """Two workers sharing the work (and competing for the closer's lease)."""
    workdir: Path = tmp_path_factory.mktemp("metrics")
    yield from started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED), count=2)


def _ordered(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Every ledger output event in the order it was produced."""
    topics = (Topic.ACCRUALS, Topic.REDEMPTION_RESULTS, Topic.EXPIRY_WARNINGS, Topic.BURNS)
    found: list[Output] = [m for t in topics for m in pipeline.watcher.of(t)]
    found.sort(key=lambda m: m.timestamp_ms)
    unique: dict[str, dict[str, Any]] = {}
    for message in found:
        unique.setdefault(str(message.value["event_id"]), message.value)
    return list(unique.values())


def _window_sums(windows: list[Output]) -> dict[str, dict[str, int]]:
    sums: dict[str, dict[str, int]] = {}
    seen: set[str] = set()
    for message in windows:
        if message.value["event_id"] in seen:
            continue
        seen.add(str(message.value["event_id"]))
        row = sums.setdefault(str(message.value["dimension"]), dict.fromkeys(FIELDS, 0))
        for name in FIELDS:
            row[name] += int(message.value[name])
    return sums


def test_window_sums_equal_the_ledgers_events(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    start = pipeline.now()
    for i in range(CUSTOMERS):
        amount = "1500" if i % 2 else "300"
        order = f"m{i}-order"
        pipeline.send(Topic.PURCHASES, f"m{i}", purchase(f"m{i}-p", f"m{i}", amount, start, order))
    pipeline.send(Topic.PURCHASES, "m0", purchase("m0-p", "m0", "300", start, "m0-order"))  # repeat
    # Warnings come 8 service hours later; half the customers then redeem from warned lots.
    warnings = pipeline.watcher.count(Topic.EXPIRY_WARNINGS, CUSTOMERS, 30)
    for i in range(0, CUSTOMERS, 2):
        customer = f"m{i}"
        assert pipeline.watcher.of(Topic.EXPIRY_WARNINGS, customer)
        redemption = {
            "event_id": f"{customer}-x",
            "occurred_at": iso(pipeline.now()),
            "customer_id": customer,
            "order_id": f"{customer}-pay",
            "points": 10,
        }
        pipeline.send(Topic.REDEMPTIONS, customer, redemption)
    refund = {"event_id": "m1-f", "occurred_at": iso(pipeline.now()), "customer_id": "m1"}
    pipeline.send(Topic.REFUNDS, "m1", {**refund, "order_id": "m1-order"})
    pipeline.watcher.count(Topic.REDEMPTION_RESULTS, CUSTOMERS // 2, 30)
    # Every cashback lot left burns at 12 service hours (m1's were clawed back by the refund).
    pipeline.watcher.wait(
        Topic.BURNS,
        lambda found: (
            {m.key for m in found if m.value["rule_id"] == "cashback"}
            >= {f"m{i}" for i in range(CUSTOMERS) if i != 1}
        ),
        timeout=30,
    )
    expected = reference_totals(_ordered(pipeline))
    assert expected["all"]["redeemed_after_warning_points"] == 10 * (CUSTOMERS // 2)
    assert expected["all"]["warnings"] == len(warnings)

    # The windows close one service hour (one real second) after the last event at most.
    published = pipeline.watcher.wait(
        Topic.METRICS, lambda found: _window_sums(found) == expected, timeout=30
    )

    by_id: dict[str, set[str]] = defaultdict(set)
    for message in published:
        value = message.value
        by_id[str(value["event_id"])].add(json.dumps(value, sort_keys=True))
        assert message.key == value["dimension"]
        assert message.headers["ce_id"].decode() == value["event_id"]
        assert message.headers["ce_type"] == b"bonus.metrics"
        window_start, window_end = (
            parse_time(str(value[k])) for k in ("window_start", "window_end")
        )
        assert window_end - window_start == HOUR
        assert window_start.minute == window_start.second == 0
    assert all(len(payloads) == 1 for payloads in by_id.values())  # a repeat is identical
    keys = [(m.value["window_start"], m.value["dimension"]) for m in published]
    ids = {(m.value["window_start"], m.value["dimension"]): m.value["event_id"] for m in published}
    assert len(set(keys)) == len(by_id) == len(ids)  # one event per window and dimension

    per_window_all = {
        m.value["window_start"]: m.value for m in published if m.value["dimension"] == "all"
    }
    assert sum(int(v["accrued_lots"]) for v in per_window_all.values()) == CUSTOMERS * 3 // 2
    assert max(int(v["active_customers"]) for v in per_window_all.values()) <= CUSTOMERS

    # bonus report reads the topic from the beginning to its end offsets.
    monkeypatch.setenv("BONUS_KAFKA_BOOTSTRAP", pipeline.settings.kafka_bootstrap)
    monkeypatch.setenv("BONUS_TOPIC_PREFIX", pipeline.settings.topic_prefix)
    monkeypatch.setenv("BONUS_RULES_FILE", str(pipeline.rules_path))
    window = ["--from", iso(start - HOUR), "--to", iso(pipeline.now() + 24 * HOUR)]
    assert report_main([*window, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["dimension"]: row for row in report["rows"]}
    for dimension, sums in expected.items():
        assert {k: rows[dimension][k] for k in FIELDS} == sums
    cashback = rows["rule:cashback"]
    assert cashback["reminder_conversion"] == round(
        sums_of(expected, "rule:cashback", "redeemed_after_warning_points")
        / sums_of(expected, "rule:cashback", "warned_points"),
        4,
    )
    assert cashback["breakage_rate"] == round(
        cashback["burned_points"] / cashback["accrued_points"], 4
    )
    assert {row["dimension"] for row in report["by_validity"]} == {
        "valid_for:PT12H",
        "valid_for:PT3H",
    }
    assert report_main([*window, "--format", "csv"]) == 0
    assert "rule:big-order" in capsys.readouterr().out


def sums_of(totals: dict[str, dict[str, int]], dimension: str, name: str) -> int:
    """One total of the reference."""
    return totals[dimension][name]
