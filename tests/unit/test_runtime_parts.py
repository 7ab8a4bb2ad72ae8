"""The pure parts of the runtime: timer sleeps, outcome labels, dead letters, metric counting,
HTTP replies, JSON logs, shard ownership with fake loops, the faust partition mapping."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import UTC, datetime, timedelta

from faust.types import TP
from prometheus_client import CollectorRegistry

from schemas import DEAD_LETTER_PAYLOAD_LIMIT, ErrorCode, InvalidEvent, Topic
from streams.clock import ScaledClock
from streams.ledger import Accrued, ClawedBack, CustomerView, Duplicate, LotView, OutboxEntry
from streams.runtime.dlq import InputMessage, dead_letter
from streams.runtime.http import customer_json, health_reply
from streams.runtime.logging import JsonFormatter, logging_config
from streams.runtime.metrics import create_metrics
from streams.runtime.ownership import Ownership
from streams.runtime.processor import outcome_label
from streams.runtime.relay import count_entry, origin_label
from streams.runtime.timers import MIN_SLEEP, sleep_seconds
from streams.worker.app import shards_of

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_timers_sleep_until_the_next_due_entry_in_real_time_but_never_long() -> None:
    clock = ScaledClock(T0, 3600, 0.0, real_time=lambda: 0.0)
    now = clock.now_ms()
    assert sleep_seconds(now + 360_000, now, clock, 0.25) == 0.1  # 6 service minutes at 3600x
    assert sleep_seconds(now + 3_600_000 * 5, now, clock, 0.25) == 0.25
    assert sleep_seconds(None, now, clock, 0.25) == 0.25
    assert sleep_seconds(now - 10, now, clock, 0.25) == MIN_SLEEP


def test_outcome_labels_are_few_and_readable() -> None:
    assert outcome_label(Accrued(version=1, lots=())) == "accrued"
    assert outcome_label(Duplicate(original="applied")) == "duplicate"
    assert (
        outcome_label(ClawedBack(status="unknown_order", version=1)) == "clawedback_unknown_order"
    )


def test_a_dead_letter_keeps_the_origin_and_cuts_the_payload() -> None:
    message = InputMessage(Topic.REFUNDS, "bonus.refunds", 2, 41, b"k\xff", b"x" * 70_000)
    letter = dead_letter(message, InvalidEvent(ErrorCode.NOT_JSON, "bad"), T0)
    assert (letter.source_topic, letter.partition, letter.offset) == ("bonus.refunds", 2, 41)
    assert letter.key == "k\ufffd"
    assert len(letter.payload) == DEAD_LETTER_PAYLOAD_LIMIT
    assert letter.payload_truncated
    again = dead_letter(message, InvalidEvent(ErrorCode.NOT_JSON, "bad"), T0 + timedelta(1))
    assert again.event_id == letter.event_id  # the same message, the same dead letter id


def test_points_and_warnings_are_counted_by_rule_without_customers() -> None:
    metrics = create_metrics(CollectorRegistry())
    entries = [
        OutboxEntry("1-0", "accrued", {"c": "x", "pts": "10", "rule": "cashback"}),
        OutboxEntry("1-1", "burned", {"c": "x", "pts": "4", "camp": "winter"}),
        OutboxEntry(
            "1-2",
            "redemption",
            {"c": "x", "status": "accepted", "lots": [{"pts": "3", "rule": "cashback"}]},
        ),
        OutboxEntry("1-3", "redemption", {"c": "x", "status": "rejected", "lots": {}}),
        OutboxEntry("1-4", "warning", {"c": "x", "lead": "P1D"}),
    ]
    for entry in entries:
        count_entry(metrics, entry)
    sample = metrics.registry.get_sample_value
    assert sample("bonus_points_total", {"kind": "accrued", "rule": "cashback"}) == 10
    assert sample("bonus_points_total", {"kind": "burned", "rule": "campaign:winter"}) == 4
    assert sample("bonus_points_total", {"kind": "redeemed", "rule": "cashback"}) == 3
    assert sample("bonus_expiry_warnings_total", {"lead": "P1D"}) == 1
    assert origin_label({"rule": "r"}) == "r"
    names = {m.name for m in metrics.registry.collect()}
    assert all("customer" not in n for n in names)


def test_health_is_ready_only_when_consuming_with_an_assignment() -> None:
    ownership = Ownership({}, create_metrics(CollectorRegistry()))
    assert health_reply(ownership, lambda: False).status == 503
    ownership.assignment_done = True
    assert health_reply(ownership, lambda: True).status == 200
    ownership.rebalancing = True
    assert health_reply(ownership, lambda: True).status == 503


def test_the_customer_reply_has_the_balance_snapshot_fields_and_lots() -> None:
    lot = LotView("l1", 5, "pending", "cashback", None, T0, T0 + timedelta(1), T0 + timedelta(9))
    view = CustomerView("c1", 0, 5, None, T0, 3, (lot,), {"accrued": 5})
    body = customer_json(view)
    assert set(body) >= {"customer_id", "balance", "pending", "next_expiry", "updated_at"}
    assert body["version"] == 3
    assert body["lots"][0]["activates_at"] == "2026-12-02T00:00:00Z"
    assert body["lots"][0]["status"] == "pending"


def test_logs_are_json_lines_off_a_terminal() -> None:
    record = logging.LogRecord("w", logging.INFO, __file__, 1, "burned %s", ("lot-1",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "burned lot-1"
    assert line["level"] == "INFO"
    config = logging_config("INFO", io.StringIO())
    assert config["formatters"]["default"] == {"()": "streams.runtime.logging.JsonFormatter"}


def test_ownership_starts_and_stops_loops_and_restarts_a_failed_one() -> None:
    runs: list[int] = []

    async def flaky(shard: int) -> None:
        runs.append(shard)
        raise RuntimeError("Redis away")

    async def scenario() -> list[frozenset[int]]:
        ownership = Ownership({"flaky": flaky}, create_metrics(CollectorRegistry()), 0.01)
        await ownership.assign({1, 2})
        await asyncio.sleep(0.1)
        seen = [ownership.owned]
        await ownership.assign({2, 3})
        seen.append(ownership.owned)
        await ownership.stop()
        seen.append(ownership.owned)
        return seen

    assert asyncio.run(scenario()) == [frozenset({1, 2}), frozenset({2, 3}), frozenset()]
    assert runs.count(1) > 2  # restarted after each failure


def test_shards_are_the_partitions_of_the_customer_topics() -> None:
    assigned = {TP("b.purchases", 0), TP("b.refunds", 3), TP("b.campaigns", 2)}
    assert shards_of(assigned, {"b.purchases", "b.refunds"}) == {0, 3}
