"""The one topic catalog: every topic's name, key, payload models, direction and config.

Producers, consumers, ``bonus topics create`` and the generated AsyncAPI document all read
this table, so a topic is described once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

from pydantic import BaseModel

from schemas.inputs import AppInstall, CampaignLaunch, Purchase, RedemptionRequest, Refund
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

DEFAULT_TOPIC_PREFIX: Final = "bonus."
_DAY_MS: Final = 86_400_000
_LEGAL_PREFIX = re.compile(r"^[A-Za-z0-9._-]*$")


class Topic(StrEnum):
    """Every topic of the contract; the value is the suffix after the prefix."""

    PURCHASES = "purchases"
    APP_INSTALLS = "app-installs"
    REDEMPTIONS = "redemptions"
    REFUNDS = "refunds"
    CAMPAIGNS = "campaigns"
    ACCRUALS = "accruals"
    REDEMPTION_RESULTS = "redemption-results"
    EXPIRY_WARNINGS = "expiry-warnings"
    BURNS = "burns"
    BALANCES = "balances"
    METRICS = "metrics"
    DLQ = "dlq"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """What a topic carries and how it is configured."""

    topic: Topic
    key: str
    key_description: str
    models: tuple[type[BaseModel], ...]
    direction: Literal["in", "out"]
    co_partitioned: bool
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int | None
    """``None``: keep forever (compacted topics keep each key's last value)."""
    description: str

    @property
    def suffix(self) -> str:
        """The name after the prefix."""
        return self.topic.value


def _spec(
    topic: Topic,
    key: str,
    models: tuple[type[BaseModel], ...],
    direction: Literal["in", "out"],
    description: str,
    *,
    co_partitioned: bool = True,
    compact: bool = False,
    retention_days: int = 7,
    key_description: str = "the customer_id of the payload, UTF-8",
) -> TopicSpec:
    return TopicSpec(
        topic=topic,
        key=key,
        key_description=key_description,
        models=models,
        direction=direction,
        co_partitioned=co_partitioned,
        cleanup_policy="compact" if compact else "delete",
        retention_ms=None if compact else retention_days * _DAY_MS,
        description=description,
    )


_SPECS: Final = (
    _spec(Topic.PURCHASES, "customer_id", (Purchase,), "in", "Completed purchases."),
    _spec(Topic.APP_INSTALLS, "customer_id", (AppInstall,), "in", "App installations."),
    _spec(
        Topic.REDEMPTIONS, "customer_id", (RedemptionRequest,), "in", "Requests to pay with points."
    ),
    _spec(Topic.REFUNDS, "customer_id", (Refund,), "in", "Refunded orders, whole or partial."),
    _spec(
        Topic.CAMPAIGNS,
        "campaign_id",
        (CampaignLaunch,),
        "in",
        "Campaign launches granting points to a segment.",
        co_partitioned=False,
        retention_days=30,
        key_description="the campaign_id of the payload, UTF-8",
    ),
    _spec(
        Topic.ACCRUALS,
        "customer_id",
        (BonusAccrued, BonusClawedBack),
        "out",
        "Lots issued and clawed back.",
    ),
    _spec(
        Topic.REDEMPTION_RESULTS,
        "customer_id",
        (RedemptionResult,),
        "out",
        "Answers to redemption requests.",
    ),
    _spec(Topic.EXPIRY_WARNINGS, "customer_id", (ExpiryWarning,), "out", "Points about to burn."),
    _spec(Topic.BURNS, "customer_id", (BonusBurned,), "out", "Points burned at their deadline."),
    _spec(
        Topic.BALANCES,
        "customer_id",
        (BalanceSnapshot,),
        "out",
        "The latest balance of each customer (compacted).",
        compact=True,
    ),
    _spec(
        Topic.METRICS,
        "dimension",
        (MetricsWindow,),
        "out",
        "Counters per closed window and rule, campaign or all.",
        co_partitioned=False,
        retention_days=30,
        key_description="the dimension of the payload: rule:<id>, campaign:<id> or all",
    ),
    _spec(
        Topic.DLQ,
        "original key",
        (DeadLetter,),
        "out",
        "Inputs that could not be processed, with the reason.",
        co_partitioned=False,
        retention_days=30,
        key_description="the key of the refused message, unchanged (may be absent)",
    ),
)

CATALOG: Final = MappingProxyType({spec.topic: spec for spec in _SPECS})
"""Every topic's spec, in contract order."""

INPUT_TOPICS: Final = tuple(s.topic for s in _SPECS if s.direction == "in")
OUTPUT_TOPICS: Final = tuple(s.topic for s in _SPECS if s.direction == "out")
CUSTOMER_TOPICS: Final = tuple(s.topic for s in _SPECS if s.co_partitioned)
"""Topics keyed by customer_id that must share one partition count."""


def _output_type(model: type[BaseModel]) -> str:
    default = model.model_fields["type"].default
    assert isinstance(default, str)  # noqa: S101 - every output model has a literal type
    return default


TOPIC_BY_TYPE: Final = MappingProxyType(
    {_output_type(m): s.topic for s in _SPECS if s.direction == "out" for m in s.models}
)
"""Output ``type`` (``bonus.accrued``) to the topic that carries it."""


def topic_name(prefix: str, topic: Topic) -> str:
    """The Kafka topic name: ``prefix`` (``BONUS_TOPIC_PREFIX``, default ``bonus.``) + suffix."""
    if not _LEGAL_PREFIX.match(prefix):
        raise ValueError(f"topic prefix {prefix!r} may only hold letters, digits, '.', '_', '-'")
    name = prefix + topic.value
    if len(name) > 249:
        raise ValueError(f"topic name {name[:40]!r}... is longer than Kafka's 249 characters")
    return name


def topic_for_type(event_type: str) -> Topic:
    """The topic of an output ``type``; KeyError names the unknown type."""
    return TOPIC_BY_TYPE[event_type]
