"""The topic catalog matches the contract's table."""

from __future__ import annotations

import pytest

from schemas import (
    CATALOG,
    CUSTOMER_TOPICS,
    DEFAULT_TOPIC_PREFIX,
    INPUT_TOPICS,
    OUTPUT_TOPICS,
    TOPIC_BY_TYPE,
    Topic,
    topic_for_type,
    topic_name,
)

CONTRACT = {
    "bonus.purchases": ("customer_id", "in", ["Purchase"]),
    "bonus.app-installs": ("customer_id", "in", ["AppInstall"]),
    "bonus.redemptions": ("customer_id", "in", ["RedemptionRequest"]),
    "bonus.refunds": ("customer_id", "in", ["Refund"]),
    "bonus.campaigns": ("campaign_id", "in", ["CampaignLaunch"]),
    "bonus.accruals": ("customer_id", "out", ["BonusAccrued", "BonusClawedBack"]),
    "bonus.redemption-results": ("customer_id", "out", ["RedemptionResult"]),
    "bonus.expiry-warnings": ("customer_id", "out", ["ExpiryWarning"]),
    "bonus.burns": ("customer_id", "out", ["BonusBurned"]),
    "bonus.balances": ("customer_id", "out", ["BalanceSnapshot"]),
    "bonus.metrics": ("dimension", "out", ["MetricsWindow"]),
    "bonus.dlq": ("original key", "out", ["DeadLetter"]),
}


def test_catalog_is_the_contract_table() -> None:
    table = {
        topic_name(DEFAULT_TOPIC_PREFIX, spec.topic): (
            spec.key,
            spec.direction,
            [m.__name__ for m in spec.models],
        )
        for spec in CATALOG.values()
    }
    assert table == CONTRACT
    assert list(table) == list(CONTRACT)


def test_directions_and_co_partitioning() -> None:
    assert INPUT_TOPICS == (
        Topic.PURCHASES,
        Topic.APP_INSTALLS,
        Topic.REDEMPTIONS,
        Topic.REFUNDS,
        Topic.CAMPAIGNS,
    )
    assert set(OUTPUT_TOPICS) == set(Topic) - set(INPUT_TOPICS)
    assert set(CUSTOMER_TOPICS) == {
        Topic.PURCHASES,
        Topic.APP_INSTALLS,
        Topic.REDEMPTIONS,
        Topic.REFUNDS,
        Topic.ACCRUALS,
        Topic.REDEMPTION_RESULTS,
        Topic.EXPIRY_WARNINGS,
        Topic.BURNS,
        Topic.BALANCES,
    }
    assert all(CATALOG[t].key == "customer_id" for t in CUSTOMER_TOPICS)


def test_only_balances_are_compacted() -> None:
    compacted = [s.topic for s in CATALOG.values() if s.cleanup_policy == "compact"]
    assert compacted == [Topic.BALANCES]
    assert CATALOG[Topic.BALANCES].retention_ms is None
    assert all(s.retention_ms for s in CATALOG.values() if s.cleanup_policy == "delete")


def test_output_types_map_to_topics() -> None:
    assert dict(TOPIC_BY_TYPE) == {
        "bonus.accrued": Topic.ACCRUALS,
        "bonus.clawed_back": Topic.ACCRUALS,
        "bonus.redemption": Topic.REDEMPTION_RESULTS,
        "bonus.expiry_warning": Topic.EXPIRY_WARNINGS,
        "bonus.burned": Topic.BURNS,
        "bonus.balance": Topic.BALANCES,
        "bonus.metrics": Topic.METRICS,
        "bonus.dead_letter": Topic.DLQ,
    }
    assert topic_for_type("bonus.burned") is Topic.BURNS
    with pytest.raises(KeyError):
        topic_for_type("bonus.nothing")


def test_topic_name_prefixes() -> None:
    assert topic_name("bonus.", Topic.DLQ) == "bonus.dlq"
    assert topic_name("t-42.bonus.", Topic.APP_INSTALLS) == "t-42.bonus.app-installs"
    assert topic_name("", Topic.BURNS) == "burns"
    assert CATALOG[Topic.BURNS].suffix == "burns"


@pytest.mark.parametrize("prefix", ["bonus/", "bonus ", "bönus.", "x" * 249])
def test_illegal_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError, match=r"prefix|longer"):
        topic_name(prefix, Topic.PURCHASES)
