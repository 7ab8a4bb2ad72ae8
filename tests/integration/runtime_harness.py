"""Set-up of the runtime integration tests: a Runtime on the real broker and Redis, in the
test's own topics and key space, with a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from confluent_kafka import Message

from schemas import Purchase, Topic, topic_name
from streams.kafka.admin import create_topics
from streams.rules.loader import parse_rules
from streams.runtime.runtime import Runtime
from streams.settings import Settings
from tests.integration.kafka_helpers import consume

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
RULES = """
rules:
  - id: cashback
    event: purchase
    points: {percent: 10}
    valid_for: PT1H
    warn_before: [PT30M]
"""


@dataclass
class ManualClock:
    """A service clock that stands still until the test moves it."""

    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def now_ms(self) -> int:
        return int(self.at.timestamp() * 1000)

    def real_seconds(self, service_seconds: float) -> float:
        return service_seconds


@asynccontextmanager
async def running(settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    """A started Runtime over freshly created topics (4 partitions)."""
    create_topics(settings)
    runtime = Runtime(settings, parse_rules(RULES), settings.partitions, clock)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def corrupt(runtime: Runtime, customer: str) -> None:
    """Break the customer's record: a lot whose shape no name code resolves, so every script
    of the customer fails the same way ("ledger: unknown name code zz")."""
    key = runtime.ledger.keys(runtime.ledger.shard_of(customer)).customer(customer)
    await runtime.redis.hset(key, "Lbroken", "zz,1,1")


def purchase(event_id: str, customer: str, amount: str = "100", at: datetime = T0) -> Purchase:
    """A Purchase."""
    return Purchase(
        event_id=event_id,
        occurred_at=at,
        customer_id=customer,
        order_id=f"o-{event_id}",
        amount=Decimal(amount),
        currency="RUB",
        channel="pos",
    )


def read(settings: Settings, topic: Topic, count: int, timeout: float = 30) -> list[Message]:
    """``count`` messages of an output topic, from the beginning."""
    name = topic_name(settings.topic_prefix, topic)
    return consume(
        settings.kafka_bootstrap, name, f"{settings.consumer_group}-{topic}", count, timeout
    )


HOUR = timedelta(hours=1)
