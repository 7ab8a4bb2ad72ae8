"""What is wrong with a rules file: every problem with its place, reported all at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from schemas.errors import BonusError


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem; ``place`` is a path (``rules[2].warn_before[0]``) or ``line 4, column 7``."""

    place: str
    message: str
    line: int | None = None  # 1-based line in the file, when known

    def __str__(self) -> str:
        shown = self.line is not None and not self.place.startswith("line ")
        where = f" (line {self.line})" if shown else ""
        return f"{self.place}: {self.message}{where}"


class RulesError(BonusError, ValueError):
    """A rules file that cannot be used; ``problems`` lists every problem found in it."""

    def __init__(self, problems: Sequence[Problem], source: str = "<rules>") -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s) in the rules file:\n{lines}")
