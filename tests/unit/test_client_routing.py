"""The producer helper's validation and routing, without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from schemas import (
    AppInstall,
    CampaignLaunch,
    ErrorCode,
    InvalidEvent,
    Purchase,
    Refund,
    Topic,
)
from streams.client import CE_TYPES, route_for, validate_input

AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
PURCHASE: dict[str, Any] = {
    "event_id": "p-1",
    "occurred_at": "2026-12-03T10:00:00+03:00",
    "customer_id": "c-7",
    "order_id": "o-1",
    "amount": "250.50",
    "currency": "RUB",
    "channel": "pos",
    "pos_terminal": "ignored: unknown fields are allowed",
}


def test_a_dict_is_validated_with_the_topics_model() -> None:
    event = validate_input(PURCHASE, Topic.PURCHASES)
    assert isinstance(event, Purchase)
    assert event.amount == Decimal("250.50")
    assert event.occurred_at == datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def test_json_bytes_are_validated_too() -> None:
    event = validate_input(json.dumps(PURCHASE).encode(), Topic.PURCHASES)
    assert isinstance(event, Purchase)


def test_an_invalid_dict_names_every_problem() -> None:
    bad = {**PURCHASE, "occurred_at": "2026-12-03T10:00:00", "channel": "fax"}
    del bad["order_id"]
    with pytest.raises(InvalidEvent) as caught:
        validate_input(bad, Topic.PURCHASES)
    fields = {problem.field for problem in caught.value.problems}
    assert fields == {"occurred_at", "order_id", "channel"}
    assert ErrorCode.NAIVE_TIME in {problem.code for problem in caught.value.problems}


def test_a_dict_needs_a_topic_and_an_input_one() -> None:
    with pytest.raises(ValueError, match="give topic="):
        validate_input(PURCHASE)
    with pytest.raises(ValueError, match="output topic"):
        validate_input(PURCHASE, Topic.ACCRUALS)


def test_a_model_goes_to_its_own_topic_only() -> None:
    install = AppInstall(event_id="a-1", occurred_at=AT, customer_id="c-1", app="telegram-bot")
    assert validate_input(install) is install
    with pytest.raises(ValueError, match="goes to app-installs"):
        validate_input(install, Topic.PURCHASES)


def test_routes_key_by_customer_or_campaign() -> None:
    refund = Refund(event_id="r-1", occurred_at=AT, customer_id="c-9", order_id="o-1")
    route = route_for(refund)
    assert (route.topic, route.key, route.ce_type) == (Topic.REFUNDS, "c-9", "bonus.refund")
    launch = CampaignLaunch.model_validate(
        {
            "event_id": "l-1",
            "occurred_at": AT,
            "campaign_id": "winter",
            "segment": "vip",
            "points": 100,
            "valid_for": "P7D",
        }
    )
    assert route_for(launch).key == "winter"
    assert route_for(launch).topic is Topic.CAMPAIGNS
    assert set(CE_TYPES) == {
        Topic.PURCHASES,
        Topic.APP_INSTALLS,
        Topic.REDEMPTIONS,
        Topic.REFUNDS,
        Topic.CAMPAIGNS,
    }
