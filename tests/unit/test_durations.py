"""ISO 8601 durations: parsing, canonical text, calendar arithmetic across DST and month ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas import Duration, DurationError, DurationField

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        ("P14D", Duration(days=14), "P2W"),
        ("P1W", Duration(days=7), "P1W"),
        ("PT12H", Duration(seconds=43_200), "PT12H"),
        ("PT30M", Duration(seconds=1_800), "PT30M"),
        ("P1M", Duration(months=1), "P1M"),
        ("P1Y2M", Duration(months=14), "P1Y2M"),
        ("P3D", Duration(days=3), "P3D"),
        ("P1DT1H30M15S", Duration(days=1, seconds=5_415), "P1DT1H30M15S"),
        ("PT90M", Duration(seconds=5_400), "PT1H30M"),
    ],
)
def test_parse_and_canonical_text(text: str, expected: Duration, canonical: str) -> None:
    parsed = Duration.parse(text)
    assert parsed == expected
    assert str(parsed) == canonical
    assert Duration.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P0D", "PT0S", "14D", "P1.5D", "P-1D", "p1d", "P1DT", "P1H", "P999999D"]
)
def test_parse_errors(text: str) -> None:
    with pytest.raises(DurationError):
        Duration.parse(text)


def test_negative_parts_are_refused() -> None:
    with pytest.raises(DurationError):
        Duration(days=-1)


def test_one_day_across_spring_forward_is_23_hours() -> None:
    start = datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN)
    end = Duration(days=1).add_to(start, BERLIN)
    assert end.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 10, 0)  # noqa: DTZ001
    assert end - start == timedelta(hours=23)
    assert Duration(seconds=86_400).add_to(start, BERLIN).astimezone(BERLIN).hour == 11


def test_one_day_across_fall_back_is_25_hours() -> None:
    start = datetime(2026, 10, 24, 10, 0, tzinfo=BERLIN)
    end = Duration(days=1).add_to(start, BERLIN)
    assert end - start == timedelta(hours=25)
    assert Duration(days=1).subtract_from(end, BERLIN) == start.astimezone(UTC)


def test_wall_time_inside_the_spring_gap_moves_past_it() -> None:
    start = datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN)
    end = Duration(days=1).add_to(start, BERLIN)
    assert end == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST


def test_ambiguous_wall_time_takes_the_first_occurrence() -> None:
    start = datetime(2026, 10, 24, 2, 30, tzinfo=BERLIN)
    end = Duration(days=1).add_to(start, BERLIN)
    assert end == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, before the fall-back


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2026, 1, 31, 12, tzinfo=UTC), datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2028, 1, 31, 12, tzinfo=UTC), datetime(2028, 2, 29, 12, tzinfo=UTC)),
        (datetime(2026, 3, 31, 12, tzinfo=UTC), datetime(2026, 4, 30, 12, tzinfo=UTC)),
        (datetime(2026, 12, 31, 12, tzinfo=UTC), datetime(2027, 1, 31, 12, tzinfo=UTC)),
    ],
)
def test_one_month_clamps_to_the_end_of_the_month(start: datetime, expected: datetime) -> None:
    assert Duration.parse("P1M").add_to(start) == expected


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Duration(days=1).add_to(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_bounds_bracket_the_real_length() -> None:
    month = Duration(months=1, days=1, seconds=60)
    assert month.shortest_seconds() <= 29 * 86_400 + 60 - 3_600
    assert month.longest_seconds() >= 32 * 86_400 + 60 + 3_600


class _Holder(BaseModel):
    lead: DurationField


def test_pydantic_field_round_trips_canonical_text() -> None:
    holder = _Holder.model_validate({"lead": "P7D"})
    assert holder.lead == Duration(days=7)
    assert holder.model_dump(mode="json") == {"lead": "P1W"}


@given(
    st.integers(0, 30),
    st.integers(0, 400),
    st.integers(0, 10**6),
    st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis attaches the zone
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_canonical_text_round_trips_and_adding_never_goes_back(
    months: int, days: int, seconds: int, start: datetime
) -> None:
    if months == days == seconds == 0:
        return
    duration = Duration(months=months, days=days, seconds=seconds)
    assert Duration.parse(str(duration)) == duration
    assert duration.add_to(start, BERLIN) > start
