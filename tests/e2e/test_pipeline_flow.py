"""One real worker, a scaled clock (1 real second = 1 service hour), every output on Kafka.

The worker is shared by the tests of this module; each test uses its own customers. The
customer of the warning and burn test is set up by the fixture, so its timers run while the
other tests do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import Topic, parse_time
from tests.e2e.harness import Output, Pipeline, iso, purchase, service_time, started

SPEED = 3600.0  # one real second is one service hour
HOUR = timedelta(hours=1)
RULES = """
timezone: UTC
warning_coalesce: PT3H
rules:
  - id: cashback
    event: purchase
    points: {percent: 10}
    valid_for: PT12H
    warn_before: [PT4H]
  - id: big-order
    event: purchase
    points: {fixed: 50}
    valid_for: PT6H
    warn_before: [PT2H]
    when: {min_amount: 1000}
  - id: telegram
    event: app_install
    points: {fixed: 30}
    valid_for: PT8H
    when: {apps: [telegram-bot]}
    limit: {once_per_customer: true}
"""


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """A running worker; customer ``d`` has two lots whose warning and burns come later."""
    workdir: Path = tmp_path_factory.mktemp("flow")
    for running in started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED)):
        now = running.now()
        running.send(Topic.PURCHASES, "d", purchase("d1", "d", "100", now - HOUR))
        running.send(Topic.PURCHASES, "d", purchase("d2", "d", "200", now))
        running.d_sent_at = now  # type: ignore[attr-defined]
        yield running


def values(found: list[Output], **match: object) -> list[dict[str, Any]]:
    """The payloads whose fields equal ``match``."""
    return [m.value for m in found if all(m.value.get(k) == v for k, v in match.items())]


def accrued(pipeline: Pipeline, customer: str, n: int) -> list[dict[str, Any]]:
    """Wait for ``n`` BonusAccrued of ``customer``; their payloads."""
    found = pipeline.watcher.wait(
        Topic.ACCRUALS,
        lambda m: len(values(m, type="bonus.accrued")) >= n,
        timeout=20,
        customer_id=customer,
    )
    return values(found, type="bonus.accrued")


def test_rules_stack_and_each_lot_has_its_deadline(pipeline: Pipeline) -> None:
    at = pipeline.now()
    pipeline.send(Topic.PURCHASES, "a", purchase("a1", "a", "1000", at))
    lots = {v["rule_id"]: v for v in accrued(pipeline, "a", 2)}
    assert {rule: v["points"] for rule, v in lots.items()} == {"cashback": 100, "big-order": 50}
    issued = parse_time(str(lots["cashback"]["issued_at"]))
    assert issued == parse_time(iso(at))
    assert parse_time(str(lots["cashback"]["expires_at"])) == issued + 12 * HOUR
    assert parse_time(str(lots["big-order"]["expires_at"])) == issued + 6 * HOUR
    message = pipeline.watcher.of(Topic.ACCRUALS, "a")[0]
    assert message.headers["ce_specversion"] == b"1.0"
    assert message.headers["ce_id"].decode() == message.value["event_id"]
    assert message.headers["ce_type"] == b"bonus.accrued"
    assert message.headers["content-type"] == b"application/json"


def test_once_per_customer_holds_across_installs(pipeline: Pipeline) -> None:
    install = {"occurred_at": iso(pipeline.now()), "customer_id": "e", "app": "telegram-bot"}
    pipeline.send(Topic.APP_INSTALLS, "e", {**install, "event_id": "e-i1"})
    pipeline.send(Topic.APP_INSTALLS, "e", {**install, "event_id": "e-i2"})
    pipeline.send(Topic.PURCHASES, "e", purchase("e-p1", "e", "10", pipeline.now()))
    found = accrued(pipeline, "e", 2)
    assert sorted(str(v["rule_id"]) for v in found) == ["cashback", "telegram"]


def test_redemption_takes_earliest_deadline_first_and_refuses_too_much(
    pipeline: Pipeline,
) -> None:
    at = pipeline.now()
    pipeline.send(Topic.PURCHASES, "r", purchase("r1", "r", "1000", at))
    lots = {v["rule_id"]: v["lot_id"] for v in accrued(pipeline, "r", 2)}
    request = {"occurred_at": iso(at), "customer_id": "r", "order_id": "r-o2"}
    pipeline.send(Topic.REDEMPTIONS, "r", {**request, "event_id": "r-x1", "points": 120})
    pipeline.send(Topic.REDEMPTIONS, "r", {**request, "event_id": "r-x2", "points": 100})
    results = pipeline.watcher.count(Topic.REDEMPTION_RESULTS, 2, 20, "r")
    first, second = (m.value for m in results)
    assert first["status"] == "accepted"
    assert first["points_redeemed"] == 120
    assert first["lots"] == [
        {"lot_id": lots["big-order"], "points": 50},
        {"lot_id": lots["cashback"], "points": 70},
    ]
    assert first["balance_after"] == 30
    assert second["status"] == "rejected"
    assert second["reason"] == "insufficient_balance"
    assert second["points_redeemed"] == 0
    assert second["balance_after"] == 30
    status, body = pipeline.workers[0].get_json("/customers/r")
    assert status == 200
    assert body["balance"] == 30
    assert body["pending"] == 0
    assert [(lot["lot_id"], lot["points"], lot["status"]) for lot in body["lots"]] == [
        (lots["cashback"], 30, "active")
    ]
    assert body["next_expiry"]["points"] == 30


def test_refund_claws_back_what_is_left_and_reports_the_spent(pipeline: Pipeline) -> None:
    at = pipeline.now()
    pipeline.send(Topic.PURCHASES, "b", purchase("b1", "b", "500", at, order="b-order"))
    (lot,) = accrued(pipeline, "b", 1)
    pipeline.send(
        Topic.REDEMPTIONS,
        "b",
        {
            "event_id": "b-x1",
            "occurred_at": iso(at),
            "customer_id": "b",
            "order_id": "b-o2",
            "points": 20,
        },
    )
    pipeline.watcher.count(Topic.REDEMPTION_RESULTS, 1, 20, "b")
    refund = {"event_id": "b-f1", "occurred_at": iso(at), "customer_id": "b", "order_id": "b-order"}
    pipeline.send(Topic.REFUNDS, "b", refund)
    found = pipeline.watcher.wait(
        Topic.ACCRUALS, lambda m: bool(values(m, type="bonus.clawed_back")), 20, "b"
    )
    (clawed,) = values(found, type="bonus.clawed_back")
    assert clawed["lot_id"] == lot["lot_id"]
    # The lot's whole share is clawed back; what was already spent cannot be recovered.
    assert clawed["points"] == 50
    assert clawed["points_unrecovered"] == 20
    assert pipeline.workers[0].get_json("/customers/b")[1]["balance"] == 0


def test_repeats_change_nothing_and_bad_inputs_go_to_the_dead_letter_topic(
    pipeline: Pipeline,
) -> None:
    at = pipeline.now()
    first = purchase("q1", "q", "100", at)
    pipeline.send(Topic.PURCHASES, "q", first)
    accrued(pipeline, "q", 1)
    pipeline.send(Topic.PURCHASES, "q", first)  # exact repeat: nothing
    pipeline.send(Topic.PURCHASES, "q", {**first, "amount": "999"})  # same id, other payload
    pipeline.send(Topic.PURCHASES, "q", b"{not json")
    pipeline.send(Topic.PURCHASES, "q", b'{"event_id": "q-bad"}')
    pipeline.send(Topic.PURCHASES, "q", purchase("q2", "q", "200", at))  # still consuming
    found = accrued(pipeline, "q", 2)
    assert [v["source_event_id"] for v in found] == ["q1", "q2"]
    letters = pipeline.watcher.count(Topic.DLQ, 3, 20, "q")
    codes = [m.value["error"]["code"] for m in letters]
    assert codes == ["duplicate_conflict", "not_json", "missing_field"]
    not_json = letters[1].value
    assert not_json["payload"] == "{not json"
    assert not_json["source_topic"] == f"{pipeline.settings.topic_prefix}purchases"
    assert not_json["key"] == "q"
    assert isinstance(not_json["offset"], int)


def test_coalesced_warning_then_burns_on_time(pipeline: Pipeline) -> None:
    sent: datetime = pipeline.d_sent_at  # type: ignore[attr-defined]
    lots = {v["source_event_id"]: v for v in accrued(pipeline, "d", 2)}
    warnings = pipeline.watcher.count(Topic.EXPIRY_WARNINGS, 1, 20, "d")
    (warning,) = warnings
    due = sent + 7 * HOUR  # the first lot expires at sent + 11h, lead PT4H
    assert warning.value["lead"] == "PT4H"
    assert warning.value["points_expiring"] == 30
    assert parse_time(str(warning.value["expires_at"])) == sent + 11 * HOUR
    assert sorted(x["lot_id"] for x in warning.value["lots"]) == sorted(
        str(v["lot_id"]) for v in lots.values()
    )
    assert due <= service_time(pipeline, warning.timestamp_ms) <= due + HOUR
    burns = pipeline.watcher.count(Topic.BURNS, 2, 30, "d")
    assert {m.value["lot_id"]: m.value["points"] for m in burns} == {
        lots["d1"]["lot_id"]: 10,
        lots["d2"]["lot_id"]: 20,
    }
    for burn in burns:
        deadline = parse_time(str(burn.value["expired_at"]))
        assert deadline <= service_time(pipeline, burn.timestamp_ms) <= deadline + HOUR
    balances = pipeline.watcher.wait(
        Topic.BALANCES, lambda m: any(x.value["balance"] == 0 for x in m[2:]), 10, "d"
    )
    versions = [int(m.value["version"]) for m in balances]
    assert sorted(set(versions)) == list(range(1, max(versions) + 1))
    assert pipeline.workers[0].get_json("/customers/d")[1]["balance"] == 0


def test_http_health_metrics_and_unknown_customers(pipeline: Pipeline) -> None:
    worker = pipeline.workers[0]
    status, health = worker.get_json("/healthz")
    assert status == 200
    assert health["owned_partitions"] == [0, 1, 2, 3]
    assert worker.get("/customers/nobody")[0] == 404
    pipeline.send(Topic.REFUNDS, "m", b"[]")
    pipeline.send(Topic.PURCHASES, "m", purchase("m1", "m", "100", pipeline.now()))
    accrued(pipeline, "m", 1)
    pipeline.watcher.count(Topic.DLQ, 1, 20, "m")
    status, body = worker.get("/metrics")
    text = body.decode()
    assert status == 200
    assert 'bonus_events_consumed_total{outcome="accrued",topic="purchases"}' in text
    assert 'bonus_events_consumed_total{outcome="invalid",topic="refunds"}' in text
    assert 'bonus_points_total{kind="accrued",rule="cashback"}' in text
    assert 'bonus_dead_letters_total{code="not_an_object"}' in text
    assert 'bonus_processing_seconds_bucket{le="0.005",topic="purchases"}' in text
    assert "bonus_owned_partitions 4.0" in text
    assert 'bonus_timer_lag_seconds{shard="0"}' in text
    assert 'bonus_outbox_backlog_entries{shard="0"}' in text
    assert "bonus_relay_lag_seconds{shard=" in text
    assert 'bonus_batch_size_events_count{stage="input"}' in text
    assert "# TYPE bonus_expiry_warnings_total counter" in text
    assert 'customer="' not in text
    assert '"m"' not in text
