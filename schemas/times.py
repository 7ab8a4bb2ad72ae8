"""RFC 3339 times: an explicit offset is required on input; output is always UTC with ``Z``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from schemas.errors import ErrorCode, field_error, shown

_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})?$"
)


def parse_time(value: Any) -> datetime:
    """An RFC 3339 string with offset (or an aware datetime) as an aware UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise field_error(
                ErrorCode.NAIVE_TIME, "datetime {value} has no time zone", value=shown(value)
            )
        return value.astimezone(UTC)
    if not isinstance(value, str):
        raise field_error(
            ErrorCode.WRONG_TYPE,
            "expected an RFC 3339 time string such as 2026-12-01T10:00:00Z, got {got}",
            got=shown(value),
        )
    match = _TIME.match(value)
    if match is None:
        raise field_error(
            ErrorCode.INVALID_VALUE,
            "{value} is not an RFC 3339 time such as 2026-12-01T10:00:00Z",
            value=shown(value),
        )
    if match["offset"] is None:
        raise field_error(
            ErrorCode.NAIVE_TIME, "time {value} has no offset; add Z or +03:00", value=shown(value)
        )
    try:
        return _build_time(match)
    except (ValueError, OverflowError):
        raise field_error(
            ErrorCode.INVALID_VALUE, "{value} is not a real time", value=shown(value)
        ) from None


def _build_time(match: re.Match[str]) -> datetime:
    offset = match["offset"]
    if offset in ("Z", "z"):
        tz: timezone = UTC
    else:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if minutes >= 60:
            raise ValueError("offset minutes")
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    # Sub-microsecond digits are dropped: Python times stop at microseconds.
    micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
    local = datetime.fromisoformat(f"{match['date']}T{match['time']}")
    return local.replace(microsecond=micro, tzinfo=tz).astimezone(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; microseconds only when present."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


_TIME_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
    "examples": ["2026-12-01T10:00:00Z", "2026-12-01T13:00:00+03:00"],
}
Timestamp = Annotated[
    datetime,
    BeforeValidator(parse_time),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema(_TIME_SCHEMA),
]
"""An aware time: RFC 3339 with explicit offset on input, UTC with ``Z`` on output."""
