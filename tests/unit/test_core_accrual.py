"""Accrual planning: rule matching, points arithmetic, stacking, limits handed to the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from schemas.inputs import AppInstall, CampaignLaunch, Purchase
from streams.core.accrual import capped_points, plan_accruals, plan_campaign_lot
from streams.core.ids import SOURCE_APP_INSTALLS, SOURCE_PURCHASES
from streams.core.model import CustomerStats
from streams.rules.loader import parse_rules
from streams.rules.model import RulesFile

RULES = parse_rules(
    """
timezone: Europe/Moscow
segments:
  vip: {min_purchases: 10, min_avg_check: 5000}
  regular: {min_purchases: 3}
rules:
  - id: cashback-5
    event: purchase
    points: {percent: 5}
    valid_for: P14D
    warn_before: [P3D, P1D]
    when: {channels: [pos, web]}
    limit: {max_points: 1000, per: P30D}
  - id: dessert-10
    event: purchase
    points: {percent: 10}
    valid_for: P7D
    round_up_to: week
    when: {categories: [dessert], skus: [cake-slice]}
  - id: dessert-fixed
    event: purchase
    points: {fixed: 50}
    valid_for: P7D
    when: {categories: [dessert]}
  - id: winter
    event: purchase
    points: {fixed: 20}
    valid_for: P7D
    when:
      min_amount: 300
      active_from: 2026-12-01T00:00:00+03:00
      active_until: 2027-03-01T00:00:00+03:00
  - id: loyal
    event: purchase
    points: {fixed: 100}
    valid_for: P30D
    when: {segments: [vip, regular]}
  - id: telegram-bot
    event: app_install
    points: {fixed: 300}
    valid_for: P7D
    warn_before: [P2D]
    when: {apps: [telegram-bot]}
    limit: {once_per_customer: true}
""",
    "test",
)


def purchase(amount: str = "1000", **fields: Any) -> Purchase:
    payload: dict[str, Any] = {
        "event_id": "p-1",
        "occurred_at": "2026-03-04T12:00:00+03:00",
        "customer_id": "c-1",
        "order_id": "o-1",
        "amount": amount,
        "currency": "RUB",
        "channel": "pos",
    }
    payload.update(fields)
    return Purchase.model_validate(payload)


def points_by_rule(
    event: Purchase | AppInstall, stats: CustomerStats | None = None
) -> dict[str, int]:
    source = SOURCE_PURCHASES if isinstance(event, Purchase) else SOURCE_APP_INSTALLS
    plans = plan_accruals(event, RULES, stats or CustomerStats(), source)
    return {plan.rule_id or "": plan.points for plan in plans}


@pytest.mark.parametrize(
    ("amount", "points"),
    [("19.99", 0), ("20", 1), ("39.99", 1), ("40.00", 2), ("0.0001", 0), ("999999.9999", 49999)],
)
def test_percent_is_floored_and_zero_makes_no_lot(amount: str, points: int) -> None:
    found = points_by_rule(purchase(amount))
    assert found.get("cashback-5", 0) == points
    if points == 0:
        assert "cashback-5" not in found


def test_a_lot_plan_carries_deadlines_warnings_cap_and_origin() -> None:
    event = purchase("1000")
    (plan,) = [
        p
        for p in plan_accruals(event, RULES, CustomerStats(), "purchases")
        if p.rule_id == "cashback-5"
    ]
    assert plan.points == 50
    assert plan.issued_at == plan.activates_at == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert plan.expires_at == datetime(2026, 3, 18, 9, tzinfo=UTC)
    assert [w.lead for w in plan.warnings] == ["P3D", "P1D"]
    assert plan.warnings[0].due_at == datetime(2026, 3, 15, 9, tzinfo=UTC)
    assert plan.warnings[0].coalesce_until == datetime(2026, 3, 19, 9, tzinfo=UTC)
    assert plan.cap is not None
    assert plan.cap.max_points == 1000
    assert plan.cap.window_start == datetime(2026, 2, 2, 9, tzinfo=UTC)
    assert (plan.source_event_id, plan.order_id, plan.order_amount) == ("p-1", "o-1", Decimal(1000))
    assert plan.campaign_id is None
    assert not plan.once_per_customer
    assert len(plan.lot_id) <= 24


def test_rules_stack_each_with_its_own_deterministic_lot() -> None:
    items = [{"sku": "cake-slice", "category": "dessert", "quantity": 2, "unit_price": "150"}]
    event = purchase("500", items=items)
    plans = plan_accruals(event, RULES, CustomerStats(), SOURCE_PURCHASES)
    assert [p.rule_id for p in plans] == ["cashback-5", "dessert-10", "dessert-fixed"]
    assert len({p.lot_id for p in plans}) == 3
    again = plan_accruals(event, RULES, CustomerStats(), SOURCE_PURCHASES)
    assert [p.lot_id for p in again] == [p.lot_id for p in plans]
    other = plan_accruals(
        purchase("500", items=items, event_id="p-2"), RULES, CustomerStats(), SOURCE_PURCHASES
    )
    assert not {p.lot_id for p in other} & {p.lot_id for p in plans}


def test_category_percentage_applies_to_qualifying_items_only() -> None:
    items = [
        {"sku": "eclair", "category": "dessert", "quantity": 3, "unit_price": "99.90"},
        {"sku": "cake-slice", "quantity": 1, "unit_price": "200"},  # qualifies by sku
        {"sku": "latte", "category": "coffee", "quantity": 2, "unit_price": "250"},
    ]
    found = points_by_rule(purchase("999.70", items=items))
    assert found["dessert-10"] == 49  # floor(10% of 299.70 + 200)
    assert found["cashback-5"] == 49  # floor(5% of 999.70): the whole order
    assert found["dessert-fixed"] == 50


def test_qualifying_share_never_exceeds_the_order_amount() -> None:
    # An order discount can make the paid amount lower than the list prices of its items.
    items = [{"sku": "cake-slice", "category": "dessert", "quantity": 10, "unit_price": "100"}]
    assert points_by_rule(purchase("500", items=items))["dessert-10"] == 50


def test_targeted_rules_need_a_qualifying_item() -> None:
    coffee = [{"sku": "latte", "category": "coffee", "quantity": 1, "unit_price": "250"}]
    for event in (purchase("250", items=coffee), purchase("250")):
        found = points_by_rule(event)
        assert "dessert-10" not in found
        assert "dessert-fixed" not in found
        assert found["cashback-5"] == 12


def test_channels_condition() -> None:
    assert "cashback-5" not in points_by_rule(purchase(channel="app"))
    assert "cashback-5" in points_by_rule(purchase(channel="web"))


@pytest.mark.parametrize(
    ("occurred_at", "amount", "matches"),
    [
        ("2026-11-30T23:59:59+03:00", "300", False),
        ("2026-12-01T00:00:00+03:00", "300", True),  # active_from is inclusive
        ("2027-02-28T23:59:59+03:00", "300", True),
        ("2027-03-01T00:00:00+03:00", "300", False),  # active_until is exclusive
        ("2026-12-15T12:00:00+03:00", "299.99", False),  # min_amount is inclusive
    ],
)
def test_seasonal_window_and_min_amount(occurred_at: str, amount: str, matches: bool) -> None:
    assert ("winter" in points_by_rule(purchase(amount, occurred_at=occurred_at))) is matches


def test_listed_segments_are_alternatives_judged_on_stats_before_the_event() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert "loyal" not in points_by_rule(purchase(), CustomerStats(2, Decimal(100), at))
    # regular (3 purchases) but not vip:
    assert "loyal" in points_by_rule(purchase(), CustomerStats(3, Decimal(100), at))
    assert "loyal" in points_by_rule(purchase(), CustomerStats(10, Decimal(50_000), at))


def test_app_install_once_per_customer_flag() -> None:
    install = AppInstall.model_validate(
        {
            "event_id": "i-1",
            "occurred_at": "2026-03-04T12:00:00Z",
            "customer_id": "c-1",
            "app": "telegram-bot",
        }
    )
    (plan,) = plan_accruals(install, RULES, CustomerStats(), SOURCE_APP_INSTALLS)
    assert (plan.rule_id, plan.points, plan.once_per_customer) == ("telegram-bot", 300, True)
    assert plan.order_id is None
    assert plan.order_amount is None
    assert plan.cap is None
    other = install.model_copy(update={"app": "mobile-app"})
    assert plan_accruals(other, RULES, CustomerStats(), SOURCE_APP_INSTALLS) == []


@pytest.mark.parametrize(
    ("planned", "given", "cap", "left"),
    [(50, 0, 1000, 50), (50, 980, 1000, 20), (50, 1000, 1000, 0), (50, 1200, 1000, 0)],
)
def test_capped_points(planned: int, given: int, cap: int, left: int) -> None:
    assert capped_points(planned, given, cap) == left


def campaign(**fields: Any) -> CampaignLaunch:
    payload: dict[str, Any] = {
        "event_id": "camp-1",
        "occurred_at": "2026-03-04T12:00:00+03:00",
        "campaign_id": "spring",
        "segment": "vip",
        "points": 200,
        "warn_before": ["P1D"],
    }
    payload.update(fields)
    return CampaignLaunch.model_validate(payload)


def test_campaign_lot_with_validity() -> None:
    lot = plan_campaign_lot(campaign(valid_for="P10D"), "c-1", RULES)
    assert (lot.campaign_id, lot.rule_id, lot.points) == ("spring", None, 200)
    assert lot.activates_at == lot.issued_at == datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert lot.expires_at == datetime(2026, 3, 14, 9, tzinfo=UTC)
    assert [(w.lead, w.due_at) for w in lot.warnings] == [
        ("P1D", datetime(2026, 3, 13, 9, tzinfo=UTC))
    ]
    assert lot.source_event_id == "camp-1"
    # One launch, one lot per customer, each with its own id.
    assert plan_campaign_lot(campaign(valid_for="P10D"), "c-2", RULES).lot_id != lot.lot_id


def test_campaign_lot_with_absolute_deadline_may_start_inside_its_warning_window() -> None:
    lot = plan_campaign_lot(campaign(expires_at="2026-03-05T00:00:00+03:00"), "c-1", RULES)
    assert lot.expires_at == datetime(2026, 3, 4, 21, tzinfo=UTC)
    assert lot.warnings[0].due_at < lot.issued_at  # the ledger warns at once


def test_rules_file_is_shared_not_mutated() -> None:
    assert isinstance(RULES, RulesFile)
    before = RULES.model_dump()
    plan_accruals(purchase(), RULES, CustomerStats(), SOURCE_PURCHASES)
    assert RULES.model_dump() == before
