"""The service clock: real, or scaled from START at ANCHOR at SPEED; processes agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.clock import ScaledClock, SystemClock, clock_from_settings
from streams.settings import Settings

START = datetime(2026, 12, 1, tzinfo=UTC)


class FakeRealTime:
    """A controllable stand-in for time.time."""

    def __init__(self, now: float) -> None:
        self.value = now

    def __call__(self) -> float:
        return self.value


def test_system_clock_is_real_time_in_utc() -> None:
    clock = SystemClock(FakeRealTime(START.timestamp() + 1.5))
    assert clock.now() == START + timedelta(seconds=1.5)
    assert clock.now().tzinfo is UTC
    assert clock.now_ms() == int(START.timestamp() * 1000) + 1500
    assert clock.real_seconds(10) == 10


def test_scaled_clock_reads_start_at_anchor_and_runs_speed_times_faster() -> None:
    real = FakeRealTime(1_000.0)
    clock = ScaledClock(START, speed=86_400, anchor=1_000.0, real_time=real)
    assert clock.now() == START
    real.value = 1_001.0  # one real second is one simulated day
    assert clock.now() == START + timedelta(days=1)
    assert clock.now_ms() == int((START + timedelta(days=1)).timestamp() * 1000)
    assert clock.real_seconds(86_400) == pytest.approx(1.0)


def test_processes_with_the_same_settings_agree() -> None:
    settings = Settings(clock_start=START, clock_speed=60, clock_anchor=500.0)
    real = FakeRealTime(560.0)
    first = clock_from_settings(settings, process_started=510.0, real_time=real)
    second = clock_from_settings(settings, process_started=550.0, real_time=real)
    assert first.now() == second.now() == START + timedelta(hours=1)


def test_anchor_defaults_to_process_start() -> None:
    settings = Settings(clock_start=START, clock_speed=2)
    real = FakeRealTime(110.0)
    clock = clock_from_settings(settings, process_started=100.0, real_time=real)
    assert clock.now() == START + timedelta(seconds=20)


def test_without_start_the_clock_is_the_system_clock() -> None:
    clock = clock_from_settings(Settings(), real_time=FakeRealTime(0.0))
    assert isinstance(clock, SystemClock)
    assert clock.now() == datetime(1970, 1, 1, tzinfo=UTC)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        ScaledClock(datetime(2026, 12, 1), speed=1, anchor=0)  # noqa: DTZ001 - on purpose
