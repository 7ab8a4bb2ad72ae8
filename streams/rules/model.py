"""The rules file as validated data: segments, accrual rules, their conditions and limits.

Field-level checks live on the models (types, ranges, one-of choices); the checks that relate
several fields or rules to each other live in :mod:`streams.rules.crosscheck` so that the loader
can run them even on rules that have field errors elsewhere, and report everything at once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    model_validator,
)

from schemas.durations import Duration, DurationField
from streams.rules.crosscheck import file_problems

EventKind = Literal["purchase", "app_install"]
Channel = Literal["pos", "web", "app"]
Period = Literal["day", "week", "month"]

# Rule ids and segment names end up in lot ids, metric dimensions (`rule:<id>`) and Redis keys:
# keep them to a small, quoting-free alphabet.
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Label = Annotated[str, Field(min_length=1, max_length=128)]
Amount = Annotated[Decimal, Field(gt=0, le=Decimal(10) ** 12, allow_inf_nan=False)]
Count = Annotated[StrictInt, Field(ge=0)]


def _zone(value: Any) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError("a time zone is an IANA name such as Europe/Moscow or UTC")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/Moscow or UTC"
        ) from None


TimeZone = Annotated[ZoneInfo, BeforeValidator(_zone), PlainSerializer(lambda z: z.key)]


class _Strict(BaseModel):
    # Unknown keys are typos in a hand-written file: refuse them rather than ignore a condition.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Strict):
    """Customer statistics bounds, all inclusive; a segment with no bound holds everyone."""

    min_purchases: Count | None = None
    max_purchases: Count | None = None
    min_avg_check: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None
    max_avg_check: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None
    min_days_since_last_purchase: Count | None = None
    max_days_since_last_purchase: Count | None = None

    @model_validator(mode="after")
    def _bounds_in_order(self) -> Self:
        for what in ("purchases", "avg_check", "days_since_last_purchase"):
            low, high = getattr(self, f"min_{what}"), getattr(self, f"max_{what}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"min_{what} ({low}) is greater than max_{what} ({high})")
        return self


class Points(_Strict):
    """How many points a rule gives: a percentage of the amount, or a fixed number."""

    percent: Annotated[Decimal, Field(gt=0, le=100, allow_inf_nan=False)] | None = None
    fixed: Annotated[StrictInt, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.percent is None) == (self.fixed is None):
            raise ValueError("give exactly one of percent (e.g. {percent: 5}) or fixed")
        return self

    def __str__(self) -> str:
        return f"{self.percent}%" if self.percent is not None else f"{self.fixed} points"


class When(_Strict):
    """Conditions of a rule; an absent or empty list means "no condition on this"."""

    min_amount: Amount | None = None
    channels: list[Channel] = []
    apps: list[Label] = []
    skus: list[Label] = []
    categories: list[Label] = []
    segments: list[Name] = []
    active_from: AwareDatetime | None = None
    active_until: AwareDatetime | None = None

    @model_validator(mode="after")
    def _window_in_order(self) -> Self:
        if (
            self.active_from is not None
            and self.active_until is not None
            and self.active_from >= self.active_until
        ):
            raise ValueError(
                f"active_from ({self.active_from.isoformat()}) must be before "
                f"active_until ({self.active_until.isoformat()})"
            )
        return self

    def describe(self) -> list[str]:
        """The list conditions in words, for summaries."""
        parts = [f"min amount {self.min_amount}"] if self.min_amount is not None else []
        for key in ("channels", "apps", "skus", "categories", "segments"):
            values: list[str] = getattr(self, key)
            if values:
                parts.append(f"{key} {'/'.join(values)}")
        return parts

    def active_at(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in ``[active_from, active_until)``."""
        if self.active_from is not None and moment < self.active_from:
            return False
        return self.active_until is None or moment < self.active_until


class Limit(_Strict):
    """Limits a rule puts on one customer: once ever, and/or at most max_points per period."""

    once_per_customer: StrictBool = False
    max_points: Annotated[StrictInt, Field(gt=0)] | None = None
    per: DurationField | None = None

    @model_validator(mode="after")
    def _cap_complete(self) -> Self:
        if (self.max_points is None) != (self.per is None):
            raise ValueError("max_points and per go together (e.g. max_points: 1000, per: P30D)")
        return self


class Rule(_Strict):
    """One accrual rule: on which event, how many points, for how long, and when it applies."""

    id: Name
    event: EventKind
    points: Points
    valid_for: DurationField
    activates_after: DurationField | None = None
    round_up_to: Period | None = None
    warn_before: list[DurationField] = []
    when: When = When()
    limit: Limit = Limit()
    description: str | None = None

    def summary(self) -> str:
        """One line for ``bonus rules check``: what the rule gives, on what, for how long."""
        parts = [f"{self.id}: {self.points} on {self.event}, valid {self.valid_for}"]
        if self.activates_after is not None:
            parts.append(f"after {self.activates_after}")
        if self.round_up_to is not None:
            parts.append(f"to end of {self.round_up_to}")
        parts += self.when.describe()
        if self.warn_before:
            parts.append("warn " + "/".join(str(lead) for lead in self.warn_before))
        if self.limit.once_per_customer:
            parts.append("once per customer")
        if self.limit.max_points is not None:
            parts.append(f"max {self.limit.max_points} per {self.limit.per}")
        if self.when.active_from is not None or self.when.active_until is not None:
            start = self.when.active_from.isoformat() if self.when.active_from else "…"
            end = self.when.active_until.isoformat() if self.when.active_until else "…"
            parts.append(f"from {start} until {end}")
        return ", ".join(parts)


class RulesFile(_Strict):
    """The whole rules file; cross-checks (see :mod:`streams.rules.crosscheck`) hold on it."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    timezone: TimeZone = ZoneInfo("UTC")
    warning_coalesce: DurationField = Duration(days=1)
    max_warnings_per_day: Annotated[StrictInt, Field(ge=1)] = 1
    segments: dict[Name, Segment] = {}
    rules: list[Rule] = []

    @model_validator(mode="after")
    def _cross_checked(self) -> Self:
        problems = file_problems(self)
        if problems:
            raise ValueError("; ".join(str(problem) for problem in problems))
        return self

    def rules_for(self, event: EventKind) -> list[Rule]:
        """The rules that react to ``event``, in file order."""
        return [rule for rule in self.rules if rule.event == event]

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((rule for rule in self.rules if rule.id == rule_id), None)
