"""Message templates: ``str.format`` over a fixed set of fields of an ExpiryWarning.

Only plain names are allowed (``{points_expiring}``, ``{expires_at:%A %d %B}``): attribute and
index access are refused, so an operator's template cannot reach into Python objects. A template
is checked once at start against a sample warning, so a typo fails the start, not a message.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

from schemas import ExpiryWarning, WarnedLot
from schemas.durations import Duration
from schemas.errors import BonusError

DEFAULT_TEMPLATE: Final = (
    "Use your {points_expiring} bonus points before {expires_at:%H:%M on %A %d %B}"
    " — they expire then."
)
FIELDS: Final = (
    "customer_id",
    "points_expiring",
    "expires_at",
    "balance",
    "lead",
    "lots",
    "event_id",
)
"""Names a template may use; ``expires_at`` is a datetime in the customer's time zone."""


class TemplateError(BonusError, ValueError):
    """A template that cannot render a warning (unknown field, bad format, attribute access)."""


class _PlainFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not field_name.isidentifier():
            raise TemplateError(f"use plain field names, not {{{field_name}}}")
        if field_name not in kwargs:
            raise TemplateError(f"unknown field {{{field_name}}}; known: {', '.join(FIELDS)}")
        return kwargs[field_name], field_name


_FORMATTER: Final = _PlainFormatter()


def template_fields(warning: ExpiryWarning, zone: tzinfo) -> dict[str, Any]:
    """The values a template sees for ``warning`` in time zone ``zone``."""
    return {
        "customer_id": warning.customer_id,
        "points_expiring": warning.points_expiring,
        "expires_at": warning.expires_at.astimezone(zone),
        "balance": warning.balance,
        "lead": str(warning.lead),
        "lots": len(warning.lots),
        "event_id": warning.event_id,
    }


def render(template: str, warning: ExpiryWarning, zone: tzinfo) -> str:
    """``template`` filled from ``warning``; TemplateError says what is wrong with it."""
    try:
        return _FORMATTER.vformat(template, (), template_fields(warning, zone))
    except TemplateError:
        raise
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise TemplateError(f"template cannot be rendered: {error}") from None


def check_template(template: str, zone: tzinfo) -> None:
    """Render ``template`` for a sample warning; raise TemplateError if it cannot be."""
    render(template, _sample(), zone)


def _sample() -> ExpiryWarning:
    deadline = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)
    lot = WarnedLot(lot_id="sample-lot", points=150, expires_at=deadline)
    return ExpiryWarning(
        event_id="sample",
        customer_id="sample-customer",
        lead=Duration.parse("P1D"),
        points_expiring=150,
        expires_at=deadline,
        lots=(lot,),
        balance=150,
    )
