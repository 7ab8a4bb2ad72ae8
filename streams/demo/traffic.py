"""The demo's whole timeline: every guest's events merged in time order, plus deliberate mistakes.

Everything here is pure and deterministic for (seed, start, duration): the run loop releases
each message when the service clock reaches its time. A few messages are wrong on purpose (not
JSON, a missing field, a time without offset) and a few are exact repeats, so that the demo
shows the dead-letter topic and idempotency at work.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from schemas import Topic, cloudevent_headers, format_time, to_json_bytes
from schemas.inputs import AppInstall, InputEvent, Purchase, RedemptionRequest, Refund
from streams.demo.guest import GuestSim, Planned
from streams.demo.population import Customer, customer_rng, seed_tag
from streams.rules.model import RulesFile

Kind = Literal["purchase", "app_install", "redemption", "refund", "history", "bad", "repeat"]
SOURCE: Final = "urn:bonus-demo:coffee-and-crumbs"
# CloudEvents types of the inputs (the outputs' types are fixed by the contract).
INPUT_TYPES: Final[dict[type[InputEvent], tuple[str, Topic, Kind]]] = {
    Purchase: ("bonus.purchase", Topic.PURCHASES, "purchase"),
    AppInstall: ("bonus.app_install", Topic.APP_INSTALLS, "app_install"),
    RedemptionRequest: ("bonus.redemption_request", Topic.REDEMPTIONS, "redemption"),
    Refund: ("bonus.refund", Topic.REFUNDS, "refund"),
}
BAD_KINDS: Final = ("not_json", "missing_field", "naive_time")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish when the service clock reaches ``at``."""

    at: datetime
    topic: Topic
    key: str
    value: bytes
    event_id: str
    event_type: str
    kind: Kind

    def headers(self) -> list[tuple[str, bytes]]:
        """CloudEvents binary-mode headers (inputs may carry them; the payload decides)."""
        return cloudevent_headers(self.event_id, self.event_type, source=SOURCE, time=self.at)


def encode(planned: Planned) -> Outgoing:
    """A planned input event as the message that carries it."""
    event_type, topic, kind = INPUT_TYPES[type(planned.event)]
    customer_id = getattr(planned.event, "customer_id", "")
    return Outgoing(
        at=planned.at,
        topic=topic,
        key=customer_id,
        value=to_json_bytes(planned.event),
        event_id=planned.event.event_id,
        event_type=event_type,
        kind="history" if planned.history else kind,
    )


def guest_events(
    customers: list[Customer], rules: RulesFile, start: datetime, end: datetime, seed: int
) -> list[Planned]:
    """Every guest's good events, in time order (ties keep each guest's own order)."""
    planned: list[tuple[datetime, int, Planned]] = []
    for customer in customers:
        rng = customer_rng(seed, customer.customer_id)
        for item in GuestSim(customer, rules, rng, start, end).events():
            planned.append((item.at, len(planned), item))
    planned.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in planned]


def plan_traffic(
    customers: list[Customer],
    rules: RulesFile,
    start: datetime,
    duration: timedelta,
    seed: int,
    *,
    mistakes: int = 2,
) -> list[Outgoing]:
    """The whole demo timeline, sorted by time: good events, ``mistakes`` of each bad kind and as
    many exact repeats. Events before ``start`` (dormant guests' history) come first."""
    end = start + duration
    good = [encode(item) for item in guest_events(customers, rules, start, end, seed)]
    rng = random.Random(f"{seed}:mistakes")  # noqa: S311 - replayable, not secret
    extra = (
        _mistakes(good, start, duration, seed=seed, rng=rng, count=mistakes) if customers else []
    )
    timeline = [(m.at, 0, n, m) for n, m in enumerate(good)]
    timeline += [(m.at, 1, n, m) for n, m in enumerate(extra)]
    timeline.sort(key=lambda entry: entry[:3])
    return [m for *_, m in timeline]


def _mistakes(
    good: list[Outgoing],
    start: datetime,
    duration: timedelta,
    *,
    seed: int,
    rng: random.Random,
    count: int,
) -> list[Outgoing]:
    purchases = [m for m in good if m.kind == "purchase"]
    repeatable = [m for m in good if m.kind in {"purchase", "redemption"} and m.at >= start]
    extra: list[Outgoing] = []
    for n in range(count * len(BAD_KINDS)):
        bad_kind = BAD_KINDS[n % len(BAD_KINDS)]
        at = start + duration * rng.uniform(0.05, 0.9)
        sample = rng.choice(purchases) if purchases else None
        event_id = f"bad-{seed_tag(seed)}-{n + 1:03d}"
        key = sample.key if sample is not None else "nobody"
        extra.append(
            Outgoing(
                at,
                Topic.PURCHASES,
                key,
                _bad_payload(bad_kind, event_id, key, at),
                event_id,
                "bonus.purchase",
                "bad",
            )
        )
    for _ in range(count if repeatable else 0):
        original = rng.choice(repeatable)
        later = original.at + timedelta(minutes=rng.randint(5, 120))
        # The very same bytes and id: the workers must change nothing and emit nothing new.
        extra.append(
            Outgoing(
                later,
                original.topic,
                original.key,
                original.value,
                original.event_id,
                original.event_type,
                "repeat",
            )
        )
    return extra


def _bad_payload(kind: str, event_id: str, customer_id: str, at: datetime) -> bytes:
    body: dict[str, object] = {
        "event_id": event_id,
        "occurred_at": format_time(at),
        "customer_id": customer_id,
        "order_id": f"{event_id}-order",
        "amount": "450.00",
        "currency": "RUB",
        "channel": "pos",
    }
    if kind == "not_json":
        # A till that cut its message short.
        return json.dumps(body).encode()[:-20]
    if kind == "missing_field":
        del body["amount"]
    else:
        # As a till without time zone settings would send it: no offset, so no instant.
        body["occurred_at"] = at.replace(tzinfo=None).isoformat(timespec="seconds")
    return json.dumps(body).encode()
