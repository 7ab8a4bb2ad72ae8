"""Field types shared by every payload: ids, amounts, points, currency, channel, durations.

Each validator raises ``PydanticCustomError`` whose type IS the stable error code of
``schemas.errors.ErrorCode``, so decoding can report the precise reason without guessing.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from schemas.durations import Duration, DurationError, DurationField
from schemas.errors import ErrorCode, field_error, shown

MAX_ID_LENGTH: Final = 128
MAX_AMOUNT: Final = Decimal(10) ** 12
AMOUNT_DECIMALS: Final = 4
# Points travel through Redis Lua, whose numbers are doubles: stay well inside 2**53.
MAX_POINTS: Final = 10**15

_AMOUNT_TEXT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UNPRINTABLE: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})
_CODE_TEXT = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_id(value: Any) -> str:
    if not isinstance(value, str):
        raise field_error(ErrorCode.WRONG_TYPE, "expected a string, got {got}", got=shown(value))
    if not value:
        raise field_error(ErrorCode.INVALID_VALUE, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise field_error(
            ErrorCode.ID_TOO_LONG, "is {n} characters; at most {limit}", n=len(value), limit=128
        )
    # Ids become Redis keys, Kafka keys and log fields: no control characters, no lone
    # surrogates (which JSON allows but UTF-8 cannot encode).
    if any(unicodedata.category(char) in _UNPRINTABLE for char in value):
        raise field_error(
            ErrorCode.INVALID_VALUE,
            "{value} contains control characters or lone surrogates",
            value=shown(value),
        )
    return value


_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
Id = Annotated[str, BeforeValidator(_check_id), WithJsonSchema(_ID_SCHEMA)]
"""A printable identifier of 1..128 characters."""
EventId = Id
CustomerId = Id
OrderId = Id
CampaignId = Id
RuleId = Id
LotId = Id
StoreId = Id
Sku = Id
Name = Id
"""Short names such as an app, a platform, a category or a segment."""


def parse_amount(value: Any) -> Decimal:
    """A money amount: > 0, <= 10^12, at most 4 fractional digits, from text or number."""
    number = _to_decimal(value)
    if not number.is_finite() or number <= 0 or number > MAX_AMOUNT:
        raise field_error(
            ErrorCode.AMOUNT_OUT_OF_RANGE, "{value} is not in (0, 10^12]", value=shown(value)
        )
    # Count significant fractional digits only: 1.50000 is 1.5. Exact, no context rounding.
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - finite decimals have an int exponent
    stripped = list(digits)
    while exponent < 0 and stripped and stripped[-1] == 0:
        stripped.pop()
        exponent += 1
    if exponent < -AMOUNT_DECIMALS:
        raise field_error(
            ErrorCode.TOO_MANY_DECIMALS,
            "{value} has more than 4 fractional digits",
            value=shown(value),
        )
    return number


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise field_error(
            ErrorCode.WRONG_TYPE, "expected a decimal number, got {got}", got=shown(value)
        )
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):
        # Only reached outside decode_input (which keeps JSON numbers as Decimal): the
        # shortest repr is the literal the sender most likely wrote.
        return Decimal(repr(value))
    if isinstance(value, str):
        if len(value) > 64 or not _AMOUNT_TEXT.match(value):
            raise field_error(
                ErrorCode.INVALID_VALUE,
                '{value} is not a decimal number such as "1250.50"',
                value=shown(value),
            )
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern already rules these out
            raise field_error(
                ErrorCode.INVALID_VALUE, "{value} is not a decimal number", value=shown(value)
            ) from None
    raise field_error(
        ErrorCode.WRONG_TYPE, "expected a decimal number, got {got}", got=shown(value)
    )


def format_amount(amount: Decimal) -> str:
    """Plain decimal text, never exponent notation: ``1E+3`` becomes ``1000``."""
    return format(amount, "f")


_AMOUNT_SCHEMA = {
    "oneOf": [
        {"type": "string", "pattern": r"^\d{1,13}(\.\d{1,4})?$"},
        {"type": "number", "exclusiveMinimum": 0, "maximum": 10**12, "multipleOf": 0.0001},
    ],
    "description": "decimal > 0, at most 10^12, at most 4 fractional digits",
    "examples": ["1250.50", 99.9],
}
Amount = Annotated[
    Decimal,
    BeforeValidator(parse_amount),
    PlainSerializer(format_amount, return_type=str),
    WithJsonSchema(_AMOUNT_SCHEMA, mode="validation"),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,13}(\.\d{1,4})?$"}, mode="serialization"),
]
"""An exact money amount; serialised as a plain decimal string."""


def _check_points(value: Any) -> int:
    # bool is an int subclass and floats/strings look like numbers: the contract wants a
    # JSON integer and nothing that merely converts to one.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise field_error(
            ErrorCode.POINTS_NOT_POSITIVE_INTEGER,
            "{value} is not a positive integer number of points",
            value=shown(value),
        )
    if value > MAX_POINTS:
        raise field_error(
            ErrorCode.POINTS_OUT_OF_RANGE, "{value} exceeds the maximum 10^15", value=shown(value)
        )
    return value


def _check_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(ErrorCode.WRONG_TYPE, "expected an integer, got {got}", got=shown(value))
    if value < 0:
        raise field_error(ErrorCode.INVALID_VALUE, "{value} is negative", value=value)
    return value


Points = Annotated[
    int,
    BeforeValidator(_check_points),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_POINTS}),
]
"""A strictly positive whole number of points (JSON integer only)."""

Count = Annotated[
    int, BeforeValidator(_check_count), WithJsonSchema({"type": "integer", "minimum": 0})
]
"""A non-negative whole number (balances, points redeemed, counters, offsets)."""


def _check_currency(value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise field_error(
            ErrorCode.INVALID_CURRENCY,
            "{value} is not an ISO 4217 code such as RUB, EUR or USD",
            value=shown(value),
        )
    return value


Currency = Annotated[
    str,
    BeforeValidator(_check_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["RUB", "EUR"]}),
]
"""An ISO 4217 currency code: three upper-case letters."""

CHANNELS: Final = ("pos", "web", "app")


def _check_channel(value: Any) -> str:
    if not isinstance(value, str):
        raise field_error(ErrorCode.WRONG_TYPE, "expected a string, got {got}", got=shown(value))
    if value not in CHANNELS:
        raise field_error(
            ErrorCode.UNKNOWN_CHANNEL, "{value} is not one of pos, web, app", value=shown(value)
        )
    return value


Channel = Annotated[
    Literal["pos", "web", "app"],
    BeforeValidator(_check_channel),
    WithJsonSchema({"type": "string", "enum": list(CHANNELS)}),
]
"""Where a purchase happened: ``pos``, ``web`` or ``app``."""


def _check_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return Duration.parse(value) if isinstance(value, str) else Duration.parse("")
    except DurationError as error:
        raise field_error(ErrorCode.INVALID_DURATION, "{reason}", reason=str(error)) from None


# The JSON Schema pattern is ECMA-262 (no Python named groups), as JSON Schema requires.
_DURATION_SCHEMA = {
    "type": "string",
    "pattern": r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$",
    "examples": ["P14D", "PT12H", "P1W", "PT30M"],
}
DurationValue = Annotated[
    DurationField, BeforeValidator(_check_duration), WithJsonSchema(_DURATION_SCHEMA)
]
"""An ISO 8601 duration (``P14D``) with the ``invalid_duration`` error code."""


def _check_code(value: Any) -> str:
    if not isinstance(value, str) or not _CODE_TEXT.match(value) or len(value) > 64:
        raise field_error(
            ErrorCode.INVALID_VALUE, "{value} is not a snake_case code", value=shown(value)
        )
    return value


Code = Annotated[
    str,
    BeforeValidator(_check_code),
    WithJsonSchema({"type": "string", "pattern": _CODE_TEXT.pattern, "maxLength": 64}),
]
"""A machine-readable snake_case code such as ``insufficient_balance``."""


def _check_quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_error(ErrorCode.WRONG_TYPE, "expected an integer, got {got}", got=shown(value))
    if not 0 < value <= MAX_POINTS:
        raise field_error(
            ErrorCode.INVALID_VALUE, "{value} is not a positive quantity", value=value
        )
    return value


Quantity = Annotated[
    int,
    BeforeValidator(_check_quantity),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_POINTS}),
]
"""A positive whole number of units."""
