"""One exception hierarchy for bad events: a stable machine code plus a human message.

The code travels to the dead-letter topic (``DeadLetter.error.code``), so operators and
dashboards can group failures; the message names the field and says how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic_core import PydanticCustomError


class ErrorCode(StrEnum):
    """Stable reasons an event is refused. Values never change once released."""

    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    NAIVE_TIME = "naive_time"
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
    TOO_MANY_DECIMALS = "too_many_decimals"
    POINTS_NOT_POSITIVE_INTEGER = "points_not_positive_integer"
    POINTS_OUT_OF_RANGE = "points_out_of_range"
    ID_TOO_LONG = "id_too_long"
    UNKNOWN_CHANNEL = "unknown_channel"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_DURATION = "invalid_duration"
    DUPLICATE_CONFLICT = "duplicate_conflict"
    UNKNOWN_SEGMENT = "unknown_segment"
    LOT_LIMIT = "lot_limit"
    PROCESSING_FAILED = "processing_failed"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with an event: where (``field``, dotted path or ``""``), code, message."""

    field: str
    code: ErrorCode
    message: str


class BonusError(Exception):
    """Base of every error this project raises on purpose."""


@dataclass(eq=False)
class InvalidEvent(BonusError):  # noqa: N818 - the contract's name: an event that is invalid
    """An event that cannot be accepted; ``code`` is the first problem's, ``message`` lists all."""

    code: ErrorCode
    message: str
    problems: tuple[FieldProblem, ...] = field(default=())

    def __post_init__(self) -> None:
        super().__init__(self.code, self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def field_error(code: ErrorCode, template: str, **context: Any) -> PydanticCustomError:
    """A pydantic error whose type is ``code``, so decoding reports it as is.

    ``template`` takes ``{name}`` placeholders filled from ``context``; values go in context,
    never in the template, so braces in user data cannot break formatting.
    """
    return PydanticCustomError(code.value, template, context)


def shown(value: Any) -> str:
    """A short, safe rendering of a bad value for messages (never the whole payload)."""
    text = f"'{value}'" if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
