"""Quiet hours: across midnight, across DST changes, and deadlines that come first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from streams.notify.quiet import Action, QuietHours, decide

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours.parse("22:00-08:00", BERLIN)
FAR = datetime(2030, 1, 1, tzinfo=UTC)


def local(text: str) -> datetime:
    """A Berlin wall time (first occurrence if ambiguous) as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "end"),
    [
        ("2026-12-03T21:59:59", None),
        ("2026-12-03T22:00:00", "2026-12-04T08:00:00"),
        ("2026-12-03T23:30:00", "2026-12-04T08:00:00"),
        ("2026-12-04T00:00:00", "2026-12-04T08:00:00"),
        ("2026-12-04T07:59:59", "2026-12-04T08:00:00"),
        ("2026-12-04T08:00:00", None),
        ("2026-12-04T12:00:00", None),
    ],
)
def test_a_span_across_midnight(now: str, end: str | None) -> None:
    expected = None if end is None else local(end)
    assert NIGHT.period_end(local(now)) == expected


def test_a_span_within_one_day() -> None:
    lunch = QuietHours.parse("13:00-15:00", UTC)
    noon = datetime(2026, 12, 3, 12, 59, tzinfo=UTC)
    assert lunch.period_end(noon) is None
    assert lunch.period_end(noon + timedelta(minutes=1)) == datetime(2026, 12, 3, 15, tzinfo=UTC)
    assert lunch.period_end(noon + timedelta(hours=2, minutes=1)) is None


def test_spring_forward_makes_a_shorter_night() -> None:
    # 29 March 2026: Berlin skips 02:00-03:00, so 22:00 CET to 08:00 CEST is 9 hours.
    end = NIGHT.period_end(local("2026-03-28T23:00:00"))
    assert end == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert end - local("2026-03-28T22:00:00") == timedelta(hours=9)


def test_fall_back_makes_a_longer_night() -> None:
    # 25 October 2026: 02:00-03:00 happens twice, so the night is 11 hours.
    end = NIGHT.period_end(local("2026-10-25T01:00:00"))
    assert end == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert end - local("2026-10-24T22:00:00") == timedelta(hours=11)


def test_the_repeated_hour_is_quiet_both_times() -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert NIGHT.period_end(first) == NIGHT.period_end(second) == local("2026-10-25T08:00:00")


def test_an_end_in_the_skipped_hour_moves_past_the_gap() -> None:
    early = QuietHours.parse("01:00-02:30", BERLIN)
    end = early.period_end(local("2026-03-29T01:30:00"))
    assert end is not None
    assert end.astimezone(BERLIN).hour == 3  # 02:30 does not exist that night


def test_outside_quiet_hours_send_now() -> None:
    assert decide(local("2026-12-03T12:00:00"), FAR, NIGHT).action is Action.SEND
    assert decide(local("2026-12-03T23:00:00"), FAR, None).action is Action.SEND


def test_inside_quiet_hours_hold_until_they_end() -> None:
    decision = decide(local("2026-12-03T23:00:00"), FAR, NIGHT)
    assert decision.action is Action.HOLD
    assert decision.until == local("2026-12-04T08:00:00")


@pytest.mark.parametrize("deadline", ["2026-12-04T03:00:00", "2026-12-04T08:00:00"])
def test_a_deadline_inside_quiet_hours_sends_at_once(deadline: str) -> None:
    decision = decide(local("2026-12-03T23:00:00"), local(deadline), NIGHT)
    assert decision.action is Action.SEND
    assert decision.reason == "deadline inside quiet hours"


def test_a_deadline_just_after_the_quiet_period_waits() -> None:
    decision = decide(local("2026-12-03T23:00:00"), local("2026-12-04T08:00:01"), NIGHT)
    assert decision.action is Action.HOLD


def test_a_passed_deadline_is_not_sent() -> None:
    now = local("2026-12-03T12:00:00")
    assert decide(now, now, NIGHT).action is Action.SKIP
    assert decide(now, now - timedelta(seconds=1), None).action is Action.SKIP


@pytest.mark.parametrize("text", ["22-08", "22:00", "24:00-08:00", "22:60-08:00", "08:00-08:00"])
def test_malformed_spans_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours"):
        QuietHours.parse(text, UTC)
