"""More lines of the contract through a real worker: activation delays, caps, segments, partial
refunds, warnings at once inside a window, spent lots that do not burn, campaign launches.

One worker for the module, a clock at 3600x (one real second is one service hour); each test
has its own customers, and rules are told apart by channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from schemas import Topic, parse_time
from tests.e2e.harness import Output, Pipeline, iso, purchase, started

SPEED = 3600.0
HOUR = timedelta(hours=1)
RULES = """
timezone: UTC
warning_coalesce: PT1H
segments:
  regular: {min_purchases: 2}
rules:
  - id: delayed
    event: purchase
    points: {fixed: 40}
    activates_after: PT2H
    valid_for: PT4H
    when: {channels: [web]}
  - id: capped
    event: purchase
    points: {percent: 50}
    valid_for: PT10H
    when: {channels: [app]}
    limit: {max_points: 100, per: P1D}
  - id: early-warn
    event: purchase
    points: {fixed: 10}
    valid_for: PT10H
    warn_before: [PT9H]
    when: {channels: [pos]}
  - id: regulars
    event: purchase
    points: {fixed: 5}
    valid_for: PT10H
    when: {segments: [regular], channels: [pos]}
"""


@pytest.fixture(scope="module")
def pipeline(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """A running worker."""
    workdir = tmp_path_factory.mktemp("semantics")
    yield from started(Pipeline(kafka_bootstrap, redis_url, RULES, workdir, SPEED))


def buy(
    pipeline: Pipeline, event_id: str, customer: str, amount: str, channel: str, ago: float = 0
) -> datetime:
    """A purchase ``ago`` service hours back, on ``channel``; its ``occurred_at``."""
    at = pipeline.now() - ago * HOUR
    value = purchase(event_id, customer, amount, at)
    pipeline.send(Topic.PURCHASES, customer, {**value, "channel": channel})
    return at


def of_type(found: list[Output], kind: str) -> list[dict[str, Any]]:
    """Payloads of one output type."""
    return [m.value for m in found if m.value["type"] == kind]


def accrued(pipeline: Pipeline, customer: str, n: int) -> list[dict[str, Any]]:
    """Wait for ``n`` BonusAccrued of ``customer``."""
    found = pipeline.watcher.wait(
        Topic.ACCRUALS, lambda m: len(of_type(m, "bonus.accrued")) >= n, 20, customer
    )
    return of_type(found, "bonus.accrued")


def test_a_delayed_lot_is_pending_then_active(pipeline: Pipeline) -> None:
    at = buy(pipeline, "w1", "w", "1000", "web")
    (lot,) = accrued(pipeline, "w", 1)
    assert parse_time(lot["activates_at"]) == at + 2 * HOUR
    assert parse_time(lot["expires_at"]) == at + 6 * HOUR
    body = pipeline.workers[0].get_json("/customers/w")[1]
    assert (body["balance"], body["pending"], body["lots"][0]["status"]) == (0, 40, "pending")
    request = {"event_id": "w-x1", "occurred_at": iso(at), "customer_id": "w", "order_id": "w-o"}
    pipeline.send(Topic.REDEMPTIONS, "w", {**request, "points": 10})
    (result,) = pipeline.watcher.count(Topic.REDEMPTION_RESULTS, 1, 20, "w")
    assert result.value["status"] == "rejected"
    pipeline.watcher.wait(
        Topic.BALANCES, lambda m: any(x.value["balance"] == 40 for x in m), 10, "w"
    )
    body = pipeline.workers[0].get_json("/customers/w")[1]
    assert (body["balance"], body["pending"], body["lots"][0]["status"]) == (40, 0, "active")


def test_a_cap_cuts_then_refuses_lots(pipeline: Pipeline) -> None:
    for n in range(3):
        buy(pipeline, f"c{n}", "c", "120", "app")
    buy(pipeline, "c-marker", "c", "1", "pos")  # processed after the three, same partition
    lots = accrued(pipeline, "c", 4)
    assert [(x["rule_id"], x["points"]) for x in lots] == [
        ("capped", 60),
        ("capped", 40),
        ("early-warn", 10),
        ("regulars", 5),
    ]


def test_segments_use_the_statistics_before_the_event(pipeline: Pipeline) -> None:
    for n in range(3):
        buy(pipeline, f"g{n}", "g", "10", "pos")
    lots = accrued(pipeline, "g", 4)
    assert [(x["source_event_id"], x["rule_id"]) for x in lots] == [
        ("g0", "early-warn"),
        ("g1", "early-warn"),
        ("g2", "early-warn"),
        ("g2", "regulars"),
    ]


def test_partial_refunds_claw_back_the_cumulative_share(pipeline: Pipeline) -> None:
    at = iso(pipeline.now())
    value = purchase("p1", "p", "100", pipeline.now(), order="p-order")
    pipeline.send(Topic.PURCHASES, "p", {**value, "channel": "app"})
    (lot,) = accrued(pipeline, "p", 1)
    refund = {"occurred_at": at, "customer_id": "p", "order_id": "p-order"}
    pipeline.send(Topic.REFUNDS, "p", {**refund, "event_id": "p-f1", "amount": "40"})
    pipeline.send(Topic.REFUNDS, "p", {**refund, "event_id": "p-f2", "amount": "60"})
    found = pipeline.watcher.wait(
        Topic.ACCRUALS, lambda m: len(of_type(m, "bonus.clawed_back")) >= 2, 20, "p"
    )
    clawed = of_type(found, "bonus.clawed_back")
    assert [(x["lot_id"], x["points"]) for x in clawed] == [
        (lot["lot_id"], 20),
        (lot["lot_id"], 30),
    ]


def test_a_lot_inside_its_warning_window_is_warned_at_once_and_a_spent_lot_never_burns(
    pipeline: Pipeline,
) -> None:
    buy(pipeline, "s1", "s", "10", "pos", ago=8)
    buy(pipeline, "s2", "s", "10", "pos", ago=8)
    lots = accrued(pipeline, "s", 2)
    warnings = pipeline.watcher.count(Topic.EXPIRY_WARNINGS, 1, 5, "s")
    assert warnings[0].value["lead"] == "PT9H"
    request = {"occurred_at": iso(pipeline.now()), "customer_id": "s", "order_id": "s-o"}
    pipeline.send(Topic.REDEMPTIONS, "s", {**request, "event_id": "s-x1", "points": 15})
    (result,) = pipeline.watcher.count(Topic.REDEMPTION_RESULTS, 1, 20, "s")
    taken = {x["lot_id"]: x["points"] for x in result.value["lots"]}
    spent = next(lot_id for lot_id, points in taken.items() if points == 10)
    burns = pipeline.watcher.count(Topic.BURNS, 1, 10, "s")
    pipeline.watcher.count(Topic.BALANCES, 1, 5, "s")
    assert [(b.value["lot_id"], b.value["points"]) for b in burns] == [
        (next(x["lot_id"] for x in lots if x["lot_id"] != spent), 5)
    ]


def test_a_campaign_grants_every_known_customer_of_its_segment(pipeline: Pipeline) -> None:
    for n in range(2):
        buy(pipeline, f"v{n}", "v", "10", "pos")
    buy(pipeline, "n0", "n", "10", "pos")
    accrued(pipeline, "v", 2)
    accrued(pipeline, "n", 1)
    launch = {
        "event_id": "camp-1",
        "occurred_at": iso(pipeline.now()),
        "campaign_id": "winter",
        "segment": "regular",
        "points": 7,
        "valid_for": "PT5H",
    }
    pipeline.send(Topic.CAMPAIGNS, "winter", launch)
    found = pipeline.watcher.wait(
        Topic.ACCRUALS,
        lambda m: any(x.get("campaign_id") == "winter" for x in of_type(m, "bonus.accrued")),
        20,
        "v",
    )
    (granted,) = [x for x in of_type(found, "bonus.accrued") if x.get("campaign_id")]
    assert granted["points"] == 7
    assert not [
        x
        for x in of_type(pipeline.watcher.of(Topic.ACCRUALS, "n"), "bonus.accrued")
        if x.get("campaign_id")
    ]
