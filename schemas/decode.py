"""Bytes to validated payloads, with every failure an ``InvalidEvent`` carrying a stable code.

JSON numbers are decoded as ``Decimal`` so amounts stay exact; NaN/Infinity and duplicate keys
are refused, since a sender cannot mean them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, overload

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from schemas.errors import ErrorCode, FieldProblem, InvalidEvent
from schemas.inputs import (
    AppInstall,
    CampaignLaunch,
    InputEvent,
    Purchase,
    RedemptionRequest,
    Refund,
)
from schemas.outputs import (
    BalanceSnapshot,
    BonusAccrued,
    BonusBurned,
    BonusClawedBack,
    DeadLetter,
    ExpiryWarning,
    MetricsWindow,
    RedemptionResult,
)
from schemas.topics import CATALOG, Topic

MAX_PAYLOAD_BYTES: Final = 1024 * 1024
_MAX_MESSAGE: Final = 2000
_CODES: Final = frozenset(code.value for code in ErrorCode)
# Pydantic's own error types that are about the JSON type rather than the value.
_TYPE_ERRORS: Final = frozenset(
    {
        "model_type",
        "model_attributes_type",
        "dict_type",
        "list_type",
        "tuple_type",
        "string_type",
        "int_type",
        "bool_type",
        "is_instance_of",
        "none_required",
    }
)

OutputEvent = Annotated[
    BonusAccrued
    | BonusClawedBack
    | RedemptionResult
    | ExpiryWarning
    | BonusBurned
    | BalanceSnapshot
    | MetricsWindow
    | DeadLetter,
    Field(discriminator="type"),
]
"""Any output payload, told apart by ``type``."""
_OUTPUT_ADAPTER: Final[TypeAdapter[OutputEvent]] = TypeAdapter(OutputEvent)


def _object_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            # {"points": 1, "points": 1000} means different things to different parsers.
            raise ValueError(f"key {key!r} appears twice")
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_int(text: str) -> int | Decimal:
    # Python refuses ints over 4300 digits; a Decimal lets validation say "out of range".
    return int(text) if len(text) <= 30 else Decimal(text)


def load_json(raw: bytes) -> dict[str, Any]:
    """Decode ``raw`` into a JSON object, or raise InvalidEvent (size, UTF-8, JSON, object)."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise _single(ErrorCode.PAYLOAD_TOO_LARGE, f"payload is {len(raw)} bytes; at most 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _single(ErrorCode.NOT_UTF8, f"payload is not UTF-8 (byte {error.start})") from None
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=_parse_int,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_hook,
        )
    except (ValueError, RecursionError) as error:
        raise _single(ErrorCode.NOT_JSON, f"payload is not JSON: {str(error)[:200]}") from None
    if not isinstance(value, dict):
        raise _single(
            ErrorCode.NOT_AN_OBJECT, f"payload is a JSON {_json_kind(value)}, not an object"
        )
    return value


@overload
def decode_input(kind: Literal[Topic.PURCHASES], raw: bytes) -> Purchase: ...
@overload
def decode_input(kind: Literal[Topic.APP_INSTALLS], raw: bytes) -> AppInstall: ...
@overload
def decode_input(kind: Literal[Topic.REDEMPTIONS], raw: bytes) -> RedemptionRequest: ...
@overload
def decode_input(kind: Literal[Topic.REFUNDS], raw: bytes) -> Refund: ...
@overload
def decode_input(kind: Literal[Topic.CAMPAIGNS], raw: bytes) -> CampaignLaunch: ...
@overload
def decode_input(kind: Topic, raw: bytes) -> InputEvent: ...


def decode_input(kind: Topic, raw: bytes) -> InputEvent:
    """Validate ``raw`` as the payload of input topic ``kind``; raise InvalidEvent if bad."""
    spec = CATALOG[kind]
    if spec.direction != "in":
        raise ValueError(f"{kind} is not an input topic")
    data = load_json(raw)
    model = spec.models[0]
    try:
        event = model.model_validate(data)
    except ValidationError as error:
        raise invalid_from(error) from None
    assert isinstance(event, InputEvent)  # noqa: S101 - the catalog maps inputs to inputs
    return event


def decode_output(raw: bytes) -> BaseModel:
    """Validate ``raw`` as any output payload (chosen by ``type``); raise InvalidEvent if bad."""
    data = load_json(raw)
    try:
        event: BaseModel = _OUTPUT_ADAPTER.validate_python(data)
    except ValidationError as error:
        raise invalid_from(error) from None
    return event


def invalid_from(error: ValidationError) -> InvalidEvent:
    """One InvalidEvent for all of a ValidationError's problems; the first one sets the code."""
    problems = tuple(_problem(detail) for detail in error.errors())
    first = problems[0]
    message = "; ".join(_line(p) for p in problems)
    if len(problems) > 1:
        message += f" ({len(problems)} problems)"
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return InvalidEvent(first.code, message, problems)


def _problem(detail: ErrorDetails) -> FieldProblem:
    path = _path(detail["loc"])
    kind = detail["type"]
    if kind in _CODES:
        code = ErrorCode(kind)
    elif kind == "missing":
        code = ErrorCode.MISSING_FIELD
    elif kind in _TYPE_ERRORS:
        code = ErrorCode.WRONG_TYPE
    else:
        code = ErrorCode.INVALID_VALUE
    message = "is required" if kind == "missing" else detail["msg"]
    return FieldProblem(path, code, message)


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif (
            not part.startswith(("function-", "tagged-union[")) and part not in _DISCRIMINATOR_NOISE
        ):
            text += f".{part}" if text else part
    return text


_DISCRIMINATOR_NOISE: Final = frozenset(
    m.model_fields["type"].default
    for m in (
        BonusAccrued,
        BonusClawedBack,
        RedemptionResult,
        ExpiryWarning,
        BonusBurned,
        BalanceSnapshot,
        MetricsWindow,
        DeadLetter,
    )
)


def _line(problem: FieldProblem) -> str:
    return f"{problem.field}: {problem.message}" if problem.field else problem.message


def _single(code: ErrorCode, message: str) -> InvalidEvent:
    return InvalidEvent(code, message, (FieldProblem("", code, message),))


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
