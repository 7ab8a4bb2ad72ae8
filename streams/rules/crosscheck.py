"""Checks that relate fields or rules to each other, run on whatever part of a file validated.

Each check reads plain mappings of already-validated values (``when`` and ``points`` nested as
mappings) and skips what is missing, so that a rule with a bad field still has its other
problems reported: a shop owner fixes the whole file in one round, not one error per restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from schemas.durations import Duration
from streams.rules.errors import Problem

if TYPE_CHECKING:
    from streams.rules.model import RulesFile

Values = Mapping[str, Any]

_PURCHASE_ONLY = ("min_amount", "channels", "skus", "categories")


def fields_of(model: BaseModel) -> dict[str, Any]:
    """A model's field values as a mapping, with nested models as mappings too."""
    values: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        values[name] = fields_of(value) if isinstance(value, BaseModel) else value
    return values


def file_problems(rules_file: RulesFile) -> list[Problem]:
    """Every cross-field problem of a fully validated rules file."""
    return cross_problems([fields_of(rule) for rule in rules_file.rules], set(rules_file.segments))


def cross_problems(rules: Sequence[Values | None], segment_names: set[str] | None) -> list[Problem]:
    """Problems of each rule (``None`` for a rule that is not even a mapping) and between rules.

    ``segment_names`` is None when the segments section itself is broken: references to
    segments are then not checked, to avoid reporting a knock-on problem for each of them.
    """
    problems: list[Problem] = []
    first_place: dict[str, str] = {}
    for index, rule in enumerate(rules):
        if rule is None:
            continue
        place = f"rules[{index}]"
        problems += rule_problems(rule, place)
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in first_place:
                problems.append(
                    Problem(
                        f"{place}.id",
                        f"duplicate rule id {rule_id!r} (also {first_place[rule_id]}); "
                        "lot ids and metrics are keyed by it",
                    )
                )
            else:
                first_place[rule_id] = place
        when = rule.get("when")
        if segment_names is not None and isinstance(when, Mapping):
            problems += _segment_references(when.get("segments", ()), segment_names, place)
    return problems


def rule_problems(rule: Values, place: str) -> list[Problem]:
    """Problems within one rule: warning leads against validity, conditions against its event."""
    problems = _lead_problems(rule.get("warn_before"), rule.get("valid_for"), place)
    event = rule.get("event")
    when = rule.get("when")
    if event == "purchase" and isinstance(when, Mapping) and when.get("apps"):
        problems.append(
            Problem(f"{place}.when.apps", "apps is a condition of app_install rules only")
        )
    if event == "app_install":
        if isinstance(when, Mapping):
            problems += [
                Problem(
                    f"{place}.when.{key}",
                    f"{key} is a condition of purchase rules only; an app install has none",
                )
                for key in _PURCHASE_ONLY
                if when.get(key)
            ]
        points = rule.get("points")
        if isinstance(points, Mapping) and points.get("percent") is not None:
            problems.append(
                Problem(
                    f"{place}.points.percent",
                    "an app install has no amount to take a percentage of; use fixed",
                )
            )
    return problems


def _lead_problems(leads: Any, valid_for: Any, place: str) -> list[Problem]:
    if not isinstance(leads, list):
        return []
    problems: list[Problem] = []
    seen: dict[Duration, int] = {}
    for index, lead in enumerate(leads):
        if not isinstance(lead, Duration):
            continue
        lead_place = f"{place}.warn_before[{index}]"
        if lead in seen:
            problems.append(
                Problem(lead_place, f"{lead} is listed twice (also warn_before[{seen[lead]}])")
            )
            continue
        seen[lead] = index
        # Both are counted on the calendar, where a day lasts 23 to 25 hours (DST) and a month
        # 28 to 31 days. The warning must come due strictly after the lot is issued whatever
        # the dates, so the longest the lead can be must be shorter than the shortest validity.
        if not isinstance(valid_for, Duration):
            continue
        if lead.longest_seconds() >= valid_for.shortest_seconds():
            problems.append(
                Problem(
                    lead_place,
                    "this lead is not surely shorter than valid_for: on the calendar it can "
                    f"last up to {_hours(lead.longest_seconds())} and valid_for as little as "
                    f"{_hours(valid_for.shortest_seconds())} "
                    "(days are 23-25 h around DST changes, months 28-31 days), and a warning "
                    "must come due after the lot is issued; use a shorter lead",
                )
            )
    return problems


def _segment_references(names: Iterable[Any], known: set[str], place: str) -> list[Problem]:
    defined = ", ".join(sorted(known)) or "none"
    return [
        Problem(
            f"{place}.when.segments[{index}]",
            f"unknown segment {name!r} (defined: {defined})",
        )
        for index, name in enumerate(names)
        if isinstance(name, str) and name not in known
    ]


def _hours(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h" if rest == 0 else f"{seconds / 3600:.2f} h"
