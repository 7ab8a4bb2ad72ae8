"""Lot deadlines: calendar arithmetic in the rules' time zone, rounding, warning due times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.durations import Duration
from streams.core.deadlines import Period, lot_window, round_up, warning_plans

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_day_across_spring_forward_is_23_hours() -> None:
    # Berlin moves 02:00 -> 03:00 on 2026-03-29: "valid for a day" ends at the same wall time.
    _, expires = lot_window(at("2026-03-28T10:00:00+01:00"), Duration(days=1), BERLIN)
    assert expires == at("2026-03-29T10:00:00+02:00")
    assert expires - at("2026-03-28T10:00:00+01:00") == timedelta(hours=23)


def test_a_day_across_fall_back_is_25_hours() -> None:
    _, expires = lot_window(at("2026-10-24T10:00:00+02:00"), Duration(days=1), BERLIN)
    assert expires == at("2026-10-25T10:00:00+01:00")
    assert expires - at("2026-10-24T10:00:00+02:00") == timedelta(hours=25)


def test_hours_are_elapsed_time_even_across_dst() -> None:
    start = at("2026-03-28T10:00:00+01:00")
    _, expires = lot_window(start, Duration(seconds=24 * 3600), BERLIN)
    assert expires - start == timedelta(hours=24)


def test_activation_delay_then_validity() -> None:
    issued = at("2026-03-01T12:00:00+03:00")
    activates, expires = lot_window(
        issued, Duration(days=30), MOSCOW, activates_after=Duration(days=14)
    )
    assert activates == at("2026-03-15T12:00:00+03:00")
    assert expires == at("2026-04-14T12:00:00+03:00")


def test_absolute_deadline_replaces_validity() -> None:
    deadline = at("2026-05-01T00:00:00+03:00")
    activates, expires = lot_window(at("2026-04-01T00:00:00Z"), None, MOSCOW, expires_at=deadline)
    assert (activates, expires) == (at("2026-04-01T00:00:00Z"), deadline)
    with pytest.raises(ValueError, match="valid_for or expires_at"):
        lot_window(at("2026-04-01T00:00:00Z"), None, MOSCOW)


@pytest.mark.parametrize(
    ("moment", "period", "end"),
    [
        # Weeks are ISO weeks: the end of Sunday is Monday 00:00 local.
        ("2026-03-08T23:59:00+03:00", "week", "2026-03-09T00:00:00+03:00"),
        ("2026-03-09T00:00:00+03:00", "week", "2026-03-09T00:00:00+03:00"),  # already an end
        ("2026-03-09T00:00:01+03:00", "week", "2026-03-16T00:00:00+03:00"),
        ("2026-03-04T12:00:00+03:00", "week", "2026-03-09T00:00:00+03:00"),
        # Months: the end of 31 January, 28 February and 31 December.
        ("2026-01-31T12:00:00+03:00", "month", "2026-02-01T00:00:00+03:00"),
        ("2026-02-28T12:00:00+03:00", "month", "2026-03-01T00:00:00+03:00"),
        ("2026-12-31T23:59:59+03:00", "month", "2027-01-01T00:00:00+03:00"),
        ("2026-02-01T00:00:00+03:00", "month", "2026-02-01T00:00:00+03:00"),
        # Days, in local time: 23:30 UTC on 1 March is already 2 March in Moscow.
        ("2026-03-01T23:30:00+00:00", "day", "2026-03-03T00:00:00+03:00"),
        ("2026-03-02T00:00:00+03:00", "day", "2026-03-02T00:00:00+03:00"),
    ],
)
def test_round_up_in_moscow(moment: str, period: Period, end: str) -> None:
    assert round_up(at(moment), period, MOSCOW) == at(end)


@pytest.mark.parametrize(
    ("moment", "period", "end"),
    [
        # The spring-forward day is 23 hours long; its end is midnight at +02:00.
        ("2026-03-29T01:30:00+01:00", "day", "2026-03-30T00:00:00+02:00"),
        ("2026-03-29T12:00:00+02:00", "week", "2026-03-30T00:00:00+02:00"),
        ("2026-03-15T12:00:00+01:00", "month", "2026-04-01T00:00:00+02:00"),
        # The fall-back day is 25 hours long, including the repeated 02:00-03:00 hour.
        ("2026-10-25T02:30:00+01:00", "day", "2026-10-26T00:00:00+01:00"),
        ("2026-10-25T02:30:00+02:00", "week", "2026-10-26T00:00:00+01:00"),
        ("2026-10-20T12:00:00+02:00", "month", "2026-11-01T00:00:00+01:00"),
    ],
)
def test_round_up_across_dst_in_berlin(moment: str, period: Period, end: str) -> None:
    assert round_up(at(moment), period, BERLIN) == at(end)


def test_rounding_applies_to_the_computed_deadline() -> None:
    # A cake bought on Wednesday 4 March, valid a week: until the end of Sunday 15 March.
    _, expires = lot_window(
        at("2026-03-04T15:00:00+03:00"), Duration(days=7), MOSCOW, round_up_to="week"
    )
    assert expires == at("2026-03-16T00:00:00+03:00")


def test_month_validity_from_the_31st_then_rounded() -> None:
    # 31 January + 1 month is the last day of February; rounded to its month's end: 1 March.
    _, expires = lot_window(
        at("2026-01-31T10:00:00+03:00"), Duration(months=1), MOSCOW, round_up_to="month"
    )
    assert expires == at("2026-03-01T00:00:00+03:00")


def test_warnings_are_due_lead_before_deadline_on_the_wall_clock() -> None:
    expires = at("2026-03-29T12:00:00+02:00")
    plans = warning_plans(
        expires,
        [Duration(days=1), Duration(seconds=24 * 3600), Duration(days=3)],
        Duration(days=1),
        BERLIN,
    )
    assert [plan.lead for plan in plans] == ["P3D", "PT24H", "P1D"]  # sorted by due time
    due = {plan.lead: plan.due_at for plan in plans}
    assert due["P1D"] == at("2026-03-28T12:00:00+01:00")  # 23 h before: same wall time
    assert due["PT24H"] == at("2026-03-28T11:00:00+01:00")  # exactly 24 h before
    assert due["P3D"] == at("2026-03-26T12:00:00+01:00")
    assert all(plan.coalesce_until == at("2026-03-30T12:00:00+02:00") for plan in plans)


def test_repeated_lead_makes_one_warning() -> None:
    plans = warning_plans(
        at("2026-03-10T00:00:00Z"), [Duration(days=7), Duration(days=7)], Duration(days=1), UTC
    )
    assert [plan.lead for plan in plans] == ["P1W"]
