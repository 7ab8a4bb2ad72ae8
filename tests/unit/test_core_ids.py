"""Deterministic ids: same inputs, same ids; different inputs, different ids."""

from __future__ import annotations

import pytest

from streams.core.ids import lot_id, output_event_id, short_hash


def test_lot_ids_are_short_deterministic_and_distinct() -> None:
    one = lot_id("purchases", "e-1", rule_id="cashback")
    assert one == lot_id("purchases", "e-1", rule_id="cashback")
    assert len(one) == 16
    assert one.isalnum()
    assert one.islower()
    others = {
        lot_id("purchases", "e-2", rule_id="cashback"),
        lot_id("app-installs", "e-1", rule_id="cashback"),
        lot_id("purchases", "e-1", rule_id="vip"),
        lot_id("purchases", "e-1", campaign_id="cashback"),
        lot_id("purchases", "e-1", campaign_id="cashback", customer_id="c"),
    }
    assert one not in others
    assert len(others) == 5


def test_lot_comes_from_one_rule_or_one_campaign() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        lot_id("purchases", "e", rule_id="r", campaign_id="c")
    with pytest.raises(ValueError, match="exactly one"):
        lot_id("purchases", "e")


def test_parts_are_unambiguous() -> None:
    assert short_hash("ab", "c") != short_hash("a", "bc")


def test_hash_sizes() -> None:
    assert len(short_hash("a")) == 24
    assert len(short_hash("a", size=10)) == 16
    with pytest.raises(ValueError, match="multiple of 5"):
        short_hash("a", size=8)


def test_output_event_ids() -> None:
    event_id = output_event_id("burned", "lot-1")
    assert event_id.startswith("burned-")
    assert event_id == output_event_id("burned", "lot-1")
    assert event_id != output_event_id("burned", "lot-2")
    assert len(output_event_id("warning", "c" * 128, "P3D", "x" * 24)) <= 128
