"""Shared set-up of the ledger integration tests: a real redis-server, a Ledger under a
per-test key prefix, event builders and outbox helpers. A missing Redis fails the test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from schemas.inputs import AppInstall, CampaignLaunch, Purchase, RedemptionRequest, Refund
from schemas.outputs import OutputModel
from streams.ledger import Ledger, OutboxEntry, render
from streams.ledger.keys import HOT_LOTS
from streams.redis_clients import AsyncClient
from streams.rules.loader import parse_rules
from streams.rules.model import RulesFile
from tests.redis_helpers import async_client, delete_prefix_async

T = TypeVar("T")

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)

RULES_YAML = """
timezone: UTC
warning_coalesce: P1D
segments:
  regular: {min_purchases: 2}
rules:
  - id: cashback
    event: purchase
    points: {percent: 10}
    valid_for: P14D
    warn_before: [P3D, P1D]
    limit: {max_points: 1000, per: P30D}
  - id: big-order
    event: purchase
    points: {fixed: 50}
    valid_for: P10D
    when: {min_amount: 1000}
  - id: web-delayed
    event: purchase
    points: {fixed: 20}
    activates_after: P2D
    valid_for: P5D
    warn_before: [P1D]
    when: {channels: [web]}
  - id: bot
    event: app_install
    points: {fixed: 300}
    valid_for: P7D
    warn_before: [P2D]
    when: {apps: [telegram-bot]}
    limit: {once_per_customer: true}
"""


def rules(**changes: Any) -> RulesFile:
    """The rules every ledger test uses, with top-level ``changes`` (e.g.
    ``max_warnings_per_day=2``, ``timezone=ZoneInfo(...)``)."""
    return parse_rules(RULES_YAML).model_copy(update=changes)


class Harness:
    """A started Ledger on a real Redis, driven from sync tests through one event loop."""

    def __init__(self, runner: asyncio.Runner, client: AsyncClient, ledger: Ledger) -> None:
        self.runner = runner
        self.client = client
        self.ledger = ledger
        self._seq = 0

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run one coroutine (or redis-py awaitable) on the harness' loop."""
        return self.runner.run(_wait(awaitable))

    def outbox(self, customer_id: str) -> list[OutboxEntry]:
        """Every outbox entry of the customer's shard, oldest first (not trimmed)."""
        shard = self.ledger.shard_of(customer_id)
        entries = self.run(self.ledger.read_outbox(shard, 100_000))
        return [e for e in entries if e.customer_id == customer_id]

    def outputs(self, customer_id: str, *types: str) -> list[OutputModel]:
        """The rendered outbox events of a customer, optionally only of some entry types."""
        return [render(e)[2] for e in self.outbox(customer_id) if not types or e.type in types]

    def next_id(self, stem: str) -> str:
        """A fresh event id."""
        self._seq += 1
        return f"{stem}-{self._seq}"


async def _wait(awaitable: Awaitable[T]) -> T:
    return await awaitable


@contextmanager
def open_harness(
    redis_url: str,
    key_prefix: str,
    partitions: int = 4,
    rules_file: RulesFile | None = None,
    cluster: bool | None = None,
    hot_lots: int = HOT_LOTS,
) -> Iterator[Harness]:
    """A harness (on :func:`rules` unless given others) whose keys are deleted afterwards;
    ``cluster`` None: a cluster client if ``BONUS_REDIS_CLUSTER`` says so."""
    with asyncio.Runner() as runner:
        client = async_client(redis_url, cluster)
        chosen = rules_file if rules_file is not None else rules()
        ledger = Ledger(
            client, prefix=key_prefix, partitions=partitions, rules=chosen, hot_lots=hot_lots
        )
        runner.run(ledger.start())
        try:
            yield Harness(runner, client, ledger)
        finally:
            runner.run(_cleanup(client, key_prefix))


async def _cleanup(client: AsyncClient, prefix: str) -> None:
    await delete_prefix_async(client, prefix)
    await client.aclose()


def purchase(
    event_id: str,
    customer: str,
    amount: str | int,
    at: datetime = T0,
    *,
    order: str | None = None,
    channel: str = "pos",
) -> Purchase:
    """A purchase; the order id defaults to one per event."""
    return Purchase(
        event_id=event_id,
        occurred_at=at,
        customer_id=customer,
        order_id=order or f"order-{event_id}",
        amount=Decimal(amount),
        currency="EUR",
        channel=channel,
    )


def install(
    event_id: str, customer: str, at: datetime = T0, app: str = "telegram-bot"
) -> AppInstall:
    """An app install."""
    return AppInstall(event_id=event_id, occurred_at=at, customer_id=customer, app=app)


def redemption(event_id: str, customer: str, points: int, at: datetime = T0) -> RedemptionRequest:
    """A redemption request."""
    return RedemptionRequest(
        event_id=event_id,
        occurred_at=at,
        customer_id=customer,
        order_id=f"pay-{event_id}",
        points=points,
    )


def refund(
    event_id: str, customer: str, order: str, amount: str | None = None, at: datetime = T0
) -> Refund:
    """A full (no amount) or partial refund."""
    return Refund(
        event_id=event_id,
        occurred_at=at,
        customer_id=customer,
        order_id=order,
        amount=Decimal(amount) if amount is not None else None,
    )


def campaign(
    event_id: str, campaign_id: str, points: int, segment: str, at: datetime = T0
) -> CampaignLaunch:
    """A campaign launch valid for 10 days with a 2-day warning."""
    return CampaignLaunch.model_validate(
        {
            "event_id": event_id,
            "occurred_at": at,
            "campaign_id": campaign_id,
            "segment": segment,
            "points": points,
            "valid_for": "P10D",
            "warn_before": ["P2D"],
        }
    )
