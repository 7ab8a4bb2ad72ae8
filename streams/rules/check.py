"""``bonus rules check FILE``: validate a rules file and say what it will do, or what is wrong."""

from __future__ import annotations

from typing import TextIO

from streams.rules.errors import RulesError
from streams.rules.loader import load_rules


def check_command(path: str, out: TextIO, err: TextIO) -> int:
    """Check the rules file at ``path``: print a summary to ``out`` and return 0, or print every
    problem to ``err`` as ``FILE: place: message`` and return 1."""
    try:
        rules = load_rules(path)
    except RulesError as error:
        for problem in error.problems:
            print(f"{path}: {problem}", file=err)
        print(f"{path}: {len(error.problems)} problem(s); the file is refused", file=err)
        return 1
    print(
        f"OK: {len(rules.rules)} rules, {len(rules.segments)} segments "
        f"(timezone {rules.timezone.key}, warning_coalesce {rules.warning_coalesce}, "
        f"max_warnings_per_day {rules.max_warnings_per_day})",
        file=out,
    )
    for rule in rules.rules:
        print(f"  {rule.summary()}", file=out)
    return 0
