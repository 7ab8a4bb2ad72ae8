"""The daily warning cap of the reference model: calendar days, folding, deferral, and the
deadline that overrides the cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.durations import Duration
from streams.core.deadlines import warning_plans
from streams.core.warnings import (
    DailyCap,
    WarnableLot,
    WarningGroup,
    WarningTally,
    calendar_day,
    fire_due_warnings,
    fold,
)

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
P3D, P1D, PT1H = Duration.parse("P3D"), Duration.parse("P1D"), Duration.parse("PT1H")
NEXT_DAY = datetime(2026, 3, 2, tzinfo=UTC)


def lot(
    lot_id: str, expires_at: datetime, points: int = 10, leads: tuple[Duration, ...] = (P1D,)
) -> WarnableLot:
    coalesce = PT1H  # narrow, so that each lot makes its own warning
    return WarnableLot(lot_id, points, expires_at, warning_plans(expires_at, leads, coalesce, UTC))


def cap(per_day: int, sent_today: int = 0) -> DailyCap:
    return DailyCap(per_day, sent_today, NEXT_DAY)


def ids(groups: list[WarningGroup]) -> list[list[str]]:
    return [[x.lot_id for x in g.lots] for g in groups]


def test_a_day_is_the_calendar_day_of_the_rules_time_zone() -> None:
    moscow = ZoneInfo("Europe/Moscow")  # UTC+3
    assert calendar_day(T0, UTC) == (datetime(2026, 3, 1, tzinfo=UTC), NEXT_DAY)
    start, end = calendar_day(datetime(2026, 3, 1, 22, tzinfo=UTC), moscow)  # 01:00 on the 2nd
    assert (start, end) == (
        datetime(2026, 3, 1, 21, tzinfo=UTC),
        datetime(2026, 3, 2, 21, tzinfo=UTC),
    )
    # A DST day is 23 hours long, and starts at local midnight all the same.
    berlin = ZoneInfo("Europe/Berlin")
    start, end = calendar_day(datetime(2026, 3, 29, 12, tzinfo=UTC), berlin)
    assert (start, end - start) == (datetime(2026, 3, 28, 23, tzinfo=UTC), timedelta(hours=23))
    # Where midnight itself is skipped (Santiago, September), the day starts at 01:00 local.
    santiago = ZoneInfo("America/Santiago")
    start, _ = calendar_day(datetime(2026, 9, 6, 15, tzinfo=UTC), santiago)
    assert start.astimezone(santiago).hour == 1
    assert start.astimezone(santiago).date().isoformat() == "2026-09-06"


def test_a_tally_counts_only_its_own_day() -> None:
    tally = WarningTally(datetime(2026, 3, 1, tzinfo=UTC)).add(1, T0, UTC)
    assert tally == WarningTally(datetime(2026, 3, 1, tzinfo=UTC), 1)
    assert tally.cap(2, T0 + HOUR, UTC) == DailyCap(2, 1, NEXT_DAY)
    assert tally.cap(2, T0 + DAY, UTC) == DailyCap(2, 0, NEXT_DAY + DAY)
    assert tally.add(1, T0 + DAY, UTC) == WarningTally(NEXT_DAY, 1)
    assert DailyCap(1, 3, NEXT_DAY).left == 0


def test_within_the_cap_nothing_changes() -> None:
    lots = [lot("a", T0 + 5 * HOUR), lot("b", T0 + 10 * HOUR)]
    uncapped = fire_due_warnings(lots, T0)
    assert fire_due_warnings(lots, T0, cap(2)) == uncapped
    assert ids(uncapped[0]) == [["a"], ["b"]]


def test_warnings_past_the_days_allowance_fold_into_its_last_one() -> None:
    lots = [lot("a", T0 + 20 * HOUR), lot("b", T0 + 5 * HOUR), lot("c", T0 + 10 * HOUR)]
    assert ids(fire_due_warnings(lots, T0)[0]) == [["b"], ["c"], ["a"]]  # earliest due first
    groups, after = fire_due_warnings(lots, T0, cap(2))
    # b's warning goes out as it is; c's and a's fold into the second (and last) message.
    assert ids(groups) == [["b"], ["c", "a"]]
    assert [(g.lead, g.trigger_lot_id) for g in groups] == [("P1D", "b"), ("P1D", "c")]
    # Every lot is marked for the lead it was due, as if each had had its own message.
    assert {x.lot_id: x.warned for x in after} == {"a": {"P1D"}, "b": {"P1D"}, "c": {"P1D"}}
    (one,), _ = fire_due_warnings(lots, T0, cap(1))
    assert [x.lot_id for x in one.lots] == ["b", "c", "a"]
    assert (one.lead, one.expires_at, one.points_expiring) == ("P1D", T0 + 5 * HOUR, 30)


def test_with_none_left_today_warnings_wait_for_the_next_day_then_fold() -> None:
    lots = [
        lot("a", T0 + 2 * DAY, leads=(P3D, P1D)),
        lot("b", T0 + 2 * DAY + 6 * HOUR, leads=(P3D,)),
    ]
    groups, after = fire_due_warnings(lots, T0, cap(1, sent_today=1))
    assert groups == []
    assert all(x.warned == frozenset() for x in after)  # nothing marked: nothing lost
    # At the next day's start both come due again, and fold into that day's one message.
    groups, after = fire_due_warnings(after, NEXT_DAY, cap(1, sent_today=0))
    assert ids(groups) == [["a", "b"]]
    assert groups[0].lead == "P3D"
    assert {x.lot_id: x.warned for x in after} == {"a": {"P3D"}, "b": {"P3D"}}


def test_a_deferral_marks_only_leads_a_shorter_one_superseded() -> None:
    late = lot("late", T0 + DAY + 10 * HOUR, leads=(P3D, P1D))  # its P1D is due at 20:00
    groups, after = fire_due_warnings([late], T0 + 11 * HOUR, cap(1, sent_today=1))
    # At 21:00 P1D (and the superseded P3D) are due: deferred to midnight, P3D marked as usual.
    assert groups == []
    assert after[0].warned == {"P3D"}
    groups, _ = fire_due_warnings(after, NEXT_DAY, cap(1))
    assert [g.lead for g in groups] == ["P1D"]


def test_a_lot_that_would_burn_before_the_next_day_is_warned_anyway() -> None:
    lots = [
        lot("soon", T0 + 13 * HOUR + DAY),  # P1D due at T0+13h (23:00), expires 23:00 next day
        lot("tonight", T0 + 12 * HOUR),  # expires 22:00: deferring to midnight would burn it
    ]
    groups, after = fire_due_warnings(lots, T0, cap(1, sent_today=1))
    assert ids(groups) == [["tonight"]]
    # Exactly at the next day's start counts as too late as well.
    at_midnight = lot("midnight", NEXT_DAY)
    groups, _ = fire_due_warnings([at_midnight], T0, cap(1, sent_today=5))
    assert ids(groups) == [["midnight"]]
    # Forced, it takes the other due warnings with it (one message rather than two).
    groups, _ = fire_due_warnings([*lots, at_midnight], T0, cap(1, sent_today=2))
    assert ids(groups) == [["tonight", "midnight"]]
    assert after[0].warned == frozenset()  # soon was not due at T0


def test_fold_takes_the_lead_of_the_earliest_deadline_and_the_later_due_on_ties() -> None:
    a, b = lot("a", T0 + DAY), lot("b", T0 + 2 * DAY)
    first = WarningGroup("P3D", "a", (a,))
    second = WarningGroup("P1D", "b", (b,))
    third = WarningGroup("P1D", "a", (a, b))
    assert (fold([first, second]).lead, fold([first, second]).trigger_lot_id) == ("P3D", "a")
    folded = fold([first, second, third])
    assert (folded.lead, folded.trigger_lot_id) == ("P1D", "a")
    assert [x.lot_id for x in folded.lots] == ["a", "b"]
