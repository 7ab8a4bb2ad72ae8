"""Expiry warnings reference model: due times, coalescing, once per lead, late creation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.durations import Duration
from streams.core.deadlines import warning_plans
from streams.core.warnings import (
    WarnableLot,
    fire_due_warnings,
    lead_to_fire,
    next_warning_due,
    warning_group,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
P3D, P1D = Duration(days=3), Duration(days=1)


def lot(
    lot_id: str, expires_in: timedelta, points: int = 10, leads: tuple[Duration, ...] = (P3D, P1D)
) -> WarnableLot:
    expires_at = T0 + expires_in
    return WarnableLot(lot_id, points, expires_at, warning_plans(expires_at, leads, P1D, UTC))


def test_a_warning_inside_the_lot_life_comes_due_at_its_time() -> None:
    a = lot("a", timedelta(days=14))
    assert next_warning_due(a) == T0 + timedelta(days=11)
    assert lead_to_fire(a, T0 + timedelta(days=11, seconds=-1)) == (None, frozenset())
    plan, stale = lead_to_fire(a, T0 + timedelta(days=11))
    assert plan is not None
    assert (plan.lead, stale) == ("P3D", frozenset())


def test_one_warning_covers_lots_expiring_within_the_coalesce_span() -> None:
    lots = [
        lot("a", timedelta(days=14)),
        lot("b", timedelta(days=14, hours=20)),  # within a day after a: covered
        lot("c", timedelta(days=15, hours=1)),  # more than a day after: not covered
        lot("spent", timedelta(days=14), points=0),
        lot("quiet", timedelta(days=14, hours=1), leads=()),  # no own warning, still covered
    ]
    now = T0 + timedelta(days=11)
    groups, after = fire_due_warnings(lots, now)
    assert len(groups) == 1
    (group,) = groups
    assert (group.lead, group.trigger_lot_id) == ("P3D", "a")
    assert [x.lot_id for x in group.lots] == ["a", "quiet", "b"]
    assert group.points_expiring == 30
    assert group.expires_at == T0 + timedelta(days=14)
    warned = {x.lot_id: x.warned for x in after}
    assert warned == {
        "a": {"P3D"},
        "b": {"P3D"},
        "c": frozenset(),
        "spent": frozenset(),
        "quiet": {"P3D"},
    }
    # b's own P3D time comes later: it is not warned again for that lead.
    groups, _ = fire_due_warnings(after, T0 + timedelta(days=11, hours=20))
    assert groups == []


def test_each_lead_fires_once_then_the_next() -> None:
    lots = [lot("a", timedelta(days=14))]
    groups, lots = fire_due_warnings(lots, T0 + timedelta(days=11))
    assert [g.lead for g in groups] == ["P3D"]
    assert fire_due_warnings(lots, T0 + timedelta(days=12))[0] == []
    groups, lots = fire_due_warnings(lots, T0 + timedelta(days=13))
    assert [g.lead for g in groups] == ["P1D"]
    assert next_warning_due(lots[0]) is None


def test_a_lot_created_inside_a_window_is_warned_at_once_with_the_most_urgent_lead() -> None:
    # Expires in 20 hours: inside both the 3-day and the 1-day window.
    late = lot("late", timedelta(hours=20))
    due = next_warning_due(late)
    assert due is not None
    assert due < T0  # in the past: the ledger fires it at once
    groups, after = fire_due_warnings([late], T0)
    assert [(g.lead, g.trigger_lot_id) for g in groups] == [("P1D", "late")]
    assert after[0].warned == {"P3D", "P1D"}  # the 3-day notice is superseded, never sent


def test_inside_the_longer_window_only() -> None:
    groups, after = fire_due_warnings([lot("x", timedelta(days=2))], T0)
    assert [g.lead for g in groups] == ["P3D"]
    assert after[0].warned == {"P3D"}


def test_expired_or_spent_lots_are_never_warned() -> None:
    expired = lot("old", timedelta(hours=-1))
    assert fire_due_warnings([expired], T0)[0] == []
    spent = lot("spent", timedelta(days=2), points=0)
    assert fire_due_warnings([spent], T0)[0] == []
    assert next_warning_due(spent) is None


def test_result_does_not_depend_on_the_order_of_lots() -> None:
    lots = [lot(name, timedelta(days=days)) for name, days in [("a", 3.5), ("b", 5), ("c", 2.5)]]
    now = T0 + timedelta(days=2)
    first, _ = fire_due_warnings(lots, now)
    second, _ = fire_due_warnings(list(reversed(lots)), now)
    assert first == second
    # a's 3-day notice is the oldest due; c, inside both windows, gets only its 1-day notice,
    # which also covers a (expiring within a day after c); b's 3-day notice is due as well.
    assert [(g.lead, g.trigger_lot_id) for g in first] == [("P3D", "a"), ("P1D", "c"), ("P3D", "b")]
    assert [[x.lot_id for x in g.lots] for g in first] == [["a"], ["c", "a"], ["b"]]


def test_warning_group_directly() -> None:
    a, b = lot("a", timedelta(days=5)), lot("b", timedelta(days=5, hours=12))
    plan = a.warnings[0]
    group = warning_group([b, a], plan, "a", T0)
    assert [x.lot_id for x in group.lots] == ["a", "b"]
