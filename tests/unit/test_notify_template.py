"""Message templates: fields, time zones, formats, and templates refused at start."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from schemas import Duration, ExpiryWarning, WarnedLot
from streams.notify.template import DEFAULT_TEMPLATE, TemplateError, check_template, render

DEADLINE = datetime(2026, 12, 24, 21, 30, tzinfo=UTC)


def warning(points: int = 120) -> ExpiryWarning:
    lot = WarnedLot(lot_id="lot-1", points=points, expires_at=DEADLINE)
    return ExpiryWarning(
        event_id="w-1",
        customer_id="c-42",
        lead=Duration.parse("P1D"),
        points_expiring=points,
        expires_at=DEADLINE,
        lots=(lot,),
        balance=500,
    )


def test_the_default_template_speaks_in_the_customers_time_zone() -> None:
    text = render(DEFAULT_TEMPLATE, warning(), ZoneInfo("Europe/Moscow"))
    # 21:30 UTC is 00:30 the next day in Moscow: the weekday and date follow the zone.
    assert text == (
        "Use your 120 bonus points before 00:30 on Friday 25 December — they expire then."
    )


def test_utc_keeps_the_utc_day() -> None:
    assert "21:30 on Thursday 24 December" in render(DEFAULT_TEMPLATE, warning(), UTC)


def test_every_field_and_literal_braces() -> None:
    template = "{{{customer_id}}} {points_expiring}/{balance} {lead} {lots} {event_id} {expires_at}"
    text = render(template, warning(), UTC)
    assert text == "{c-42} 120/500 P1D 1 w-1 2026-12-24 21:30:00+00:00"


def test_format_specs_apply() -> None:
    assert render("{points_expiring:>6,}", warning(12345), UTC) == "12,345"


@pytest.mark.parametrize(
    ("template", "complaint"),
    [
        ("{points}", "unknown field {points}"),
        ("{expires_at.tzinfo}", "plain field names"),
        ("{lots[0]}", "plain field names"),
        ("{0}", "plain field names"),
        ("{points_expiring:%Q}", "cannot be rendered"),
        ("{customer_id", "cannot be rendered"),
    ],
)
def test_bad_templates_are_refused_before_any_message(template: str, complaint: str) -> None:
    with pytest.raises(TemplateError, match=complaint.replace("[", r"\[").replace("{", r"\{")):
        check_template(template, UTC)
