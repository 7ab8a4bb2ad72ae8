"""BONUS_FAILPOINTS: off by default, checked at start, and exactly as likely as asked."""

from __future__ import annotations

import pytest

from streams.failpoints import LUA_BEFORE_WRITE, RELAY_AFTER_PRODUCE, Failpoints
from streams.settings import SettingsError, load_settings


def test_no_failpoints_unless_asked() -> None:
    assert load_settings().failpoints == ""
    assert Failpoints.from_spec("") is None


def test_a_bad_spec_refuses_the_start_with_the_reason() -> None:
    with pytest.raises(SettingsError, match=r"unknown failpoint 'relay\.nowhere'"):
        load_settings(failpoints="relay.nowhere=0.5")
    with pytest.raises(SettingsError, match=r"within 0\.\.1"):
        load_settings(failpoints=f"{RELAY_AFTER_PRODUCE}=2")


def test_probabilities_are_honoured() -> None:
    armed = Failpoints.from_spec(f"{RELAY_AFTER_PRODUCE}=0,{LUA_BEFORE_WRITE}=1")
    assert armed is not None
    assert not any(armed.hit(RELAY_AFTER_PRODUCE) for _ in range(1000))
    assert all(armed.hit(LUA_BEFORE_WRITE) for _ in range(1000))
