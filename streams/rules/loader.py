"""Read a rules file and report EVERY problem in it at once, each with its place and line.

Validation runs in stages so that one mistake does not hide the others: YAML syntax, then the
header, each segment and each rule on its own (pydantic collects all field errors of each), then
the cross-checks on whatever validated. Only a file without any problem becomes a RulesFile.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, cast

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from streams.rules.crosscheck import cross_problems
from streams.rules.errors import Problem, RulesError
from streams.rules.model import Name, Rule, RulesFile, Segment
from streams.rules.yamlsource import Loc, line_of, line_of_place, read_yaml

__all__ = ["Problem", "RulesError", "load_rules", "parse_rules"]


def load_rules(path: str | Path) -> RulesFile:
    """Load and validate the rules file at ``path``; raise RulesError listing every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RulesError([Problem("(file)", f"cannot read: {error}")], str(path)) from error
    return parse_rules(text, str(path))


def parse_rules(text: str, source_name: str = "<rules>") -> RulesFile:
    """Validate the YAML ``text`` of a rules file; raise RulesError listing every problem."""
    data, root, problems = read_yaml(text)
    if root is None:
        # After a YAML syntax error nothing more can be said about the content.
        problems = problems or [Problem("(file)", "the rules file is empty")]
    elif not isinstance(data, Mapping):
        problems.append(
            Problem("(file)", "the rules file must be a mapping of timezone, segments, rules", 1)
        )
    else:
        problems += _validate(data, root)
    if problems:
        # Sorted by line, the list reads along the file; problems without a line come first.
        raise RulesError(sorted(problems, key=lambda p: p.line or 0), source_name)
    try:
        return RulesFile.model_validate(data)
    except ValidationError as error:  # pragma: no cover - the stages above catch everything
        assert root is not None  # noqa: S101 - data came from it
        raise RulesError(_problems(error, (), root), source_name) from error


def _validate(data: Mapping[Any, Any], root: yaml.Node) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in data.items():
        field = RulesFile.model_fields.get(str(key))
        if field is None:
            problems.append(_unknown(RulesFile, (str(key),), root))
        elif key not in ("segments", "rules"):
            problems += _check(_adapter(RulesFile, str(key)), value, (str(key),), root)
    segment_names = _validate_segments(data.get("segments"), root, problems)
    raw_rules = data.get("rules")
    if raw_rules is None:
        return problems
    if not isinstance(raw_rules, list):
        return [*problems, _place(("rules",), "must be a list of rules", root)]
    partial_rules: list[Mapping[str, Any] | None] = []
    for index, raw in enumerate(raw_rules):
        loc: Loc = ("rules", index)
        if not isinstance(raw, Mapping):
            problems.append(_place(loc, "a rule must be a mapping with id, event, points...", root))
            partial_rules.append(None)
            continue
        problems += _check(TypeAdapter(Rule), raw, loc, root)
        partial_rules.append(_partial(Rule, raw))
    for problem in cross_problems(partial_rules, segment_names):
        line = line_of_place(problem.place, root)
        problems.append(Problem(problem.place, problem.message, line))
    return problems


def _validate_segments(raw: Any, root: yaml.Node, problems: list[Problem]) -> set[str] | None:
    """Validate each segment; return the valid names, or None if the section is unusable."""
    if raw is None:
        return set()
    if not isinstance(raw, Mapping):
        problems.append(_place(("segments",), "must be a mapping of segment name to bounds", root))
        return None
    for name, bounds in raw.items():
        loc: Loc = ("segments", str(name))
        problems += _check(TypeAdapter(Name), name, loc, root, "segment name: ")
        problems += _check(TypeAdapter(Segment), bounds if bounds is not None else {}, loc, root)
    return {str(name) for name in raw}


def _check(
    adapter: TypeAdapter[Any], value: Any, loc: Loc, root: yaml.Node, prefix: str = ""
) -> list[Problem]:
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        return [Problem(p.place, prefix + p.message, p.line) for p in _problems(error, loc, root)]
    return []


def _problems(error: ValidationError, base: Loc, root: yaml.Node) -> list[Problem]:
    """Turn pydantic errors into problems with a readable place and message."""
    problems: list[Problem] = []
    for detail in error.errors(include_url=False):
        loc: Loc = (*base, *detail["loc"])
        if detail["type"] == "extra_forbidden":
            problems.append(_unknown(_model_at(loc[:-1]), loc, root))
            continue
        message = detail["msg"].removeprefix("Value error, ")
        given = repr(detail.get("input"))
        if detail["type"] == "missing":
            message = "required, but missing"
        elif detail["type"] == "timezone_aware":
            message = f"{given} has no UTC offset; write one, e.g. 2026-12-01T00:00:00+03:00"
        elif detail["type"] == "string_pattern_mismatch":
            message = f"{given} is not a usable name: 1-64 letters, digits, '-', '_' or '.'"
        elif not isinstance(detail.get("input"), dict | list) and given not in message:
            message += f" (got {given})"
        problems.append(_place(loc, message, root))
    return problems


def _unknown(model: type[BaseModel] | None, loc: Loc, root: yaml.Node) -> Problem:
    allowed = f"; allowed here: {', '.join(model.model_fields)}" if model is not None else ""
    return _place(loc, f"unknown key {loc[-1]!r}{allowed}", root)


def _place(loc: Loc, message: str, root: yaml.Node) -> Problem:
    return Problem(_format(loc), message, line_of(root, loc))


def _format(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model whose keys live at ``loc`` (to list the allowed keys), if it is one."""
    model: type[BaseModel] | None = RulesFile
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:  # a segment name, a dict key
            model = _model_in(model.model_fields["segments"].annotation) if part else None
            continue
        model = _model_in(field.annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _partial(model: type[BaseModel], raw: Mapping[Any, Any]) -> dict[str, Any]:
    """The fields of ``raw`` that validate on their own, nested models as partial mappings.

    Cross-checks then run on these, so a rule with a bad field still has its other problems
    reported; a field that is missing takes its default.
    """
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in raw:
            if not field.is_required():
                default = field.get_default(call_default_factory=True)
                values[name] = _as_values(default)
            continue
        nested = _model_in(field.annotation)
        if nested is not None and isinstance(raw[name], Mapping):
            values[name] = _partial(nested, raw[name])
            continue
        if typing.get_origin(field.annotation) is list and isinstance(raw[name], list):
            # Keep positions (None for a bad item) so cross-check places stay right.
            item = TypeAdapter[Any](typing.get_args(field.annotation)[0])
            values[name] = [_valid_or_none(item, element) for element in raw[name]]
            continue
        try:
            values[name] = _adapter(model, name).validate_python(raw[name])
        except ValidationError:
            continue
    return values


def _valid_or_none(adapter: TypeAdapter[Any], value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


def _as_values(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {name: getattr(value, name) for name in type(value).model_fields}
    return value


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    if not field.metadata:
        plain: Any = field.annotation
        return TypeAdapter(plain)
    # Constraints such as Field(gt=0) live in the metadata: keep them with the type.
    annotated: Any = cast(Any, Annotated)[(field.annotation, *field.metadata)]
    return TypeAdapter(annotated)
