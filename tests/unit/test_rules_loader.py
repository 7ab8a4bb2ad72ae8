"""The rules file loader: the example loads, and a broken file lists every problem at once."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from schemas.durations import Duration
from streams.rules.check import check_command
from streams.rules.errors import RulesError
from streams.rules.loader import load_rules, parse_rules
from streams.rules.model import RulesFile

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "rules.example.yaml"

MINIMAL = """
rules:
  - id: r
    event: purchase
    points: {percent: 5}
    valid_for: P14D
"""

BROKEN = """\
timezone: Mars/Olympus
warning_coalesce: P1X
colour: blue
segments:
  vip: {min_purchases: 10, max_purchases: 3}
rules:
  - id: cashback
    event: purchase
    points: {percent: 5, fixed: 3}
    valid_for: P14D
    warn_before: [P3D, P14D, PT72H, P3D]
    when: {channels: [pos, shop], apps: [x], segments: [vip, ghost]}
  - id: cashback
    event: app_install
    points: {fixed: 300}
    valid_for: P7D
    valid_for: P8D
    when: {min_amount: 100, active_from: 2026-12-01T00:00:00Z, active_until: 2026-11-01T00:00:00Z}
    limit: {max_points: 10}
    extra: 1
  - 42
  - id: tel
    event: app_install
    points: {fixed: 300}
    valid_for: P7D
    when: {apps: [telegram-bot], active_from: 2026-12-01 10:00}
"""


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "test.yaml")
    return {problem.place: problem.message for problem in caught.value.problems}


def test_example_loads_without_problem() -> None:
    rules = load_rules(EXAMPLE)
    assert rules.timezone == ZoneInfo("Europe/Moscow")
    assert {"vip", "dormant-high-check"} <= set(rules.segments)
    cashback = rules.rule("cashback-5")
    assert cashback is not None
    assert cashback.points.percent == Decimal(5)
    assert cashback.warn_before == [Duration(days=3), Duration(days=1)]
    assert any(rule.round_up_to == "week" for rule in rules.rules)
    assert any(rule.activates_after == Duration(days=14) for rule in rules.rules)
    assert any(rule.limit.max_points for rule in rules.rules)


def test_defaults() -> None:
    rules = parse_rules(MINIMAL)
    assert rules.timezone == ZoneInfo("UTC")
    assert rules.warning_coalesce == Duration(days=1)
    assert rules.max_warnings_per_day == 1
    assert rules.segments == {}
    assert rules.rules[0].when.channels == []


def test_broken_file_lists_every_problem() -> None:
    found = problems_of(BROKEN)
    expected = {
        "timezone": "unknown time zone",
        "warning_coalesce": "not an ISO 8601 duration",
        "colour": "unknown key 'colour'",
        "segments.vip": "min_purchases (10) is greater than max_purchases (3)",
        "rules[0].points": "exactly one of percent",
        "rules[0].warn_before[1]": "not surely shorter than valid_for",
        "rules[0].warn_before[3]": "listed twice",
        "rules[0].when.channels[1]": "'pos', 'web' or 'app'",
        "rules[0].when.apps": "app_install rules only",
        "rules[0].when.segments[1]": "unknown segment 'ghost'",
        "rules[1].id": "duplicate rule id 'cashback'",
        "line 17": "'valid_for' is given twice",
        "rules[1].when": "active_from",
        "rules[1].when.min_amount": "purchase rules only",
        "rules[1].limit": "max_points and per go together",
        "rules[1].extra": "unknown key 'extra'",
        "rules[2]": "must be a mapping",
        "rules[3].when.active_from": "no UTC offset",
    }
    for place, fragment in expected.items():
        assert place in found, f"{place} not reported; got {sorted(found)}"
        assert fragment in found[place]
    # PT72H is a valid lead (3 days exactly), shorter than P14D: no problem there.
    assert "rules[0].warn_before[2]" not in found


def test_problems_carry_lines_and_come_in_file_order() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(BROKEN, "test.yaml")
    lines = [problem.line or 0 for problem in caught.value.problems]
    assert lines == sorted(lines)
    by_place = {problem.place: problem.line for problem in caught.value.problems}
    assert by_place["timezone"] == 1
    assert by_place["rules[1].extra"] == 20
    assert "test.yaml" in str(caught.value)


def test_yaml_syntax_error_has_line_and_column() -> None:
    found = problems_of("rules:\n  - id: [unclosed\n")
    (place,) = found
    assert place.startswith("line ")
    assert "column" in place
    assert "YAML syntax" in found[place]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("", "(file)"),
        ("- just\n- a list\n", "(file)"),
        ("rules: {a: 1}\n", "rules"),
        ("segments: [vip]\n", "segments"),
    ],
)
def test_wrong_shapes(text: str, place: str) -> None:
    assert place in problems_of(text)


def test_warn_before_is_compared_conservatively() -> None:
    # A day lasts 23 to 25 hours around DST, a month 28 to 31 days: the lead must be shorter
    # than valid_for however the calendar falls, or the warning could come before the lot.
    def lead_problem(valid_for: str, lead: str) -> bool:
        text = MINIMAL.replace("P14D", f"{valid_for}\n    warn_before: [{lead}]")
        try:
            parse_rules(text)
        except RulesError as error:
            return any("warn_before" in problem.place for problem in error.problems)
        return False

    assert not lead_problem("P14D", "P3D")
    assert not lead_problem("P1D", "PT12H")
    assert lead_problem("P1D", "PT23H")  # a DST spring-forward day is only 23 h
    assert lead_problem("P1D", "P1D")
    assert lead_problem("P1M", "P30D")  # February
    assert lead_problem("PT1H", "PT1H")
    assert not lead_problem("PT2H", "PT1H")


def test_campaign_and_app_install_conditions() -> None:
    text = """
rules:
  - id: app
    event: app_install
    points: {percent: 5}
    valid_for: P7D
    when: {channels: [pos], skus: [a], categories: [b]}
"""
    found = problems_of(text)
    assert "fixed" in found["rules[0].points.percent"]
    assert {"rules[0].when.channels", "rules[0].when.skus", "rules[0].when.categories"} <= set(
        found
    )


def test_programmatic_rules_file_is_cross_checked() -> None:
    rule = {"id": "r", "event": "purchase", "points": {"fixed": 1}, "valid_for": "P1D"}
    with pytest.raises(ValidationError, match="duplicate rule id"):
        RulesFile.model_validate({"rules": [rule, rule]})


def test_check_command_ok(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert check_command(str(EXAMPLE), out, err) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("OK: 8 rules, 3 segments (timezone Europe/Moscow")
    assert any(line.strip().startswith("cashback-5: 5% on purchase") for line in lines)
    assert err.getvalue() == ""


def test_check_command_lists_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert check_command(str(path), out, err) == 1
    lines = err.getvalue().splitlines()
    assert f"{path}: timezone: unknown time zone" in lines[0]
    assert len(lines) >= 18
    assert all(line.startswith(f"{path}: ") for line in lines)


def test_check_command_missing_file(tmp_path: Path) -> None:
    err = io.StringIO()
    assert check_command(str(tmp_path / "none.yaml"), io.StringIO(), err) == 1
    assert "cannot read" in err.getvalue()
