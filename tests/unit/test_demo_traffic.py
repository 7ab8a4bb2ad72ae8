"""The demo timeline: valid events, deliberately bad ones, repeats, and every rule exercised."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from schemas import InvalidEvent, Topic, decode_input
from schemas.inputs import AppInstall, Purchase
from streams.core.accrual import plan_accruals
from streams.core.ids import SOURCE_APP_INSTALLS, SOURCE_PURCHASES
from streams.core.model import CustomerStats
from streams.core.segments import apply_purchase
from streams.demo.population import build_population
from streams.demo.traffic import Outgoing, plan_traffic
from streams.demo.wallet import Wallet
from streams.rules.loader import load_rules
from streams.rules.model import RulesFile

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # 1 December, midnight in Moscow
MONTH = timedelta(days=30)


@cache
def rules() -> RulesFile:
    return load_rules(ROOT / "deploy/rules.example.yaml")


@cache
def month(seed: int = 7, size: int = 80) -> tuple[Outgoing, ...]:
    return tuple(plan_traffic(build_population(seed, size), rules(), START, MONTH, seed))


def test_the_same_seed_gives_the_same_bytes() -> None:
    again = plan_traffic(build_population(7, 80), rules(), START, MONTH, 7)
    assert tuple(again) == month()


def test_another_seed_gives_other_event_ids() -> None:
    other = {m.event_id for m in month(8)}
    assert not other & {m.event_id for m in month()}


def test_the_timeline_is_in_time_order_and_within_the_month() -> None:
    times = [m.at for m in month()]
    assert times == sorted(times)
    assert all(m.at < START + MONTH for m in month())
    assert all(m.at >= START for m in month() if m.kind != "history")
    assert all(m.at < START - timedelta(days=60) for m in month() if m.kind == "history")


def test_every_kind_of_message_is_there() -> None:
    kinds = Counter(m.kind for m in month())
    assert set(kinds) == {
        "purchase",
        "app_install",
        "redemption",
        "refund",
        "history",
        "bad",
        "repeat",
    }
    assert kinds["bad"] == 6
    assert kinds["repeat"] == 2


def test_every_good_event_validates_and_is_keyed_by_its_customer() -> None:
    ids: set[tuple[Topic, str]] = set()
    for message in month():
        if message.kind in {"bad", "repeat"}:
            continue
        event = decode_input(message.topic, message.value)
        assert event.event_id == message.event_id
        assert getattr(event, "customer_id", None) == message.key
        assert event.occurred_at == message.at
        ids.add((message.topic, message.event_id))
    good = [m for m in month() if m.kind not in {"bad", "repeat"}]
    assert len(ids) == len(good), "event ids are unique per topic"


def test_the_bad_ones_are_refused_by_the_decoder() -> None:
    codes = []
    for message in month():
        if message.kind == "bad":
            with pytest.raises(InvalidEvent) as refused:
                decode_input(message.topic, message.value)
            codes.append(refused.value.code.value)
    assert Counter(codes) == {"not_json": 2, "missing_field": 2, "naive_time": 2}


def test_repeats_are_byte_for_byte_copies_of_an_earlier_event() -> None:
    seen: dict[tuple[Topic, str], bytes] = {}
    for message in month():
        if message.kind == "repeat":
            assert seen[(message.topic, message.event_id)] == message.value
        else:
            seen[(message.topic, message.event_id)] = message.value


def test_refunds_name_an_earlier_order_of_the_same_guest_and_never_more_than_it() -> None:
    orders = {}
    for message in month():
        if message.kind in {"purchase", "history"}:
            purchase = decode_input(Topic.PURCHASES, message.value)
            orders[purchase.order_id] = purchase
        elif message.kind == "refund":
            refund = decode_input(Topic.REFUNDS, message.value)
            order = orders[refund.order_id]
            assert order.customer_id == refund.customer_id
            assert refund.amount is None or refund.amount < order.amount


def test_a_month_of_traffic_exercises_every_rule_of_the_example() -> None:
    stats: dict[str, CustomerStats] = {}
    fired: Counter[str] = Counter()
    for message in month():
        if message.kind in {"purchase", "history"}:
            event: Purchase | AppInstall = decode_input(Topic.PURCHASES, message.value)
            source = SOURCE_PURCHASES
        elif message.kind == "app_install":
            event = decode_input(Topic.APP_INSTALLS, message.value)
            source = SOURCE_APP_INSTALLS
        else:
            continue
        before = stats.get(event.customer_id, CustomerStats())
        for plan in plan_accruals(event, rules(), before, source):
            if message.kind != "history":
                fired[plan.rule_id or ""] += 1
        if isinstance(event, Purchase):
            stats[event.customer_id] = apply_purchase(before, event)
    assert set(fired) == {rule.id for rule in rules().rules}, fired


def test_most_redemptions_fit_the_balance_and_some_ask_for_too_much() -> None:
    wallets: dict[str, Wallet] = {}
    outcomes: Counter[bool] = Counter()
    for message in month():
        wallet = wallets.setdefault(message.key, Wallet(rules()))
        if message.kind in {"purchase", "history"}:
            wallet.earn(decode_input(Topic.PURCHASES, message.value))
        elif message.kind == "app_install":
            wallet.earn(decode_input(Topic.APP_INSTALLS, message.value))
        elif message.kind == "refund":
            refund = decode_input(Topic.REFUNDS, message.value)
            wallet.refund(refund.order_id, refund.amount)
        elif message.kind == "redemption":
            request = decode_input(Topic.REDEMPTIONS, message.value)
            outcomes[wallet.redeem(request.points, request.occurred_at)] += 1
    assert outcomes[True] > 3 * outcomes[False] > 0, outcomes
