"""Seeded input streams for the fault suite: purchases, redemptions and refunds over a few
hundred customers, exact repeats, and (for the poison-pill storm) hypothesis-fuzzed bad inputs.

The stream comes in three waves, each sent after the previous one was fully applied: the
purchases, then the redemptions, then the refunds. A customer's events of ONE topic keep their
order (one partition), but different topics are consumed independently; the waves make every
outcome independent of that interleaving, so the reference model can be exact. Every purchase
happens at a distinct millisecond, so no two lots of a customer tie on their deadline.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from schemas import Topic
from tests.e2e.harness import iso

RULE_ID = "cashback"
PERCENT = 10
VALID_FOR = timedelta(hours=2)
LEAD = timedelta(hours=1)
LEAD_TEXT = "PT1H"
# Lots are issued from 50 minutes before the service clock starts, over ``span`` (at most 30
# minutes): nothing warns before 10 minutes after the start (the waves are applied at speed 1
# well within that), everything warns and burns once the clock is sped up.
ISSUED_FROM, ISSUED_SPAN = timedelta(minutes=50), timedelta(minutes=30)
FIRST_WARNING = VALID_FOR - LEAD - ISSUED_FROM  # after the start: 10 minutes

RULES = f"""
timezone: UTC
rules:
  - id: {RULE_ID}
    event: purchase
    points: {{percent: {PERCENT}}}
    valid_for: PT2H
    warn_before: [{LEAD_TEXT}]
"""


@dataclass(frozen=True)
class Sent:
    """One input message: topic, key, raw value, and what the suite knows about it."""

    topic: Topic
    key: bytes | None
    value: bytes
    # "good", "repeat" (an exact copy of an earlier good one) or the expected bad category:
    # "not_utf8", "not_json", "not_an_object", "schema", "duplicate_conflict".
    kind: str = "good"
    event: dict[str, Any] | None = None

    @property
    def bad(self) -> bool:
        """Whether it must end in the dead-letter topic."""
        return self.kind not in ("good", "repeat")


@dataclass
class Workload:
    """The three waves of one scenario, and the seed that made them."""

    seed: int
    customers: int
    waves: list[list[Sent]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many messages of each kind, over all waves."""
        out: dict[str, int] = {}
        for wave in self.waves:
            for sent in wave:
                name = f"{sent.topic.value}:{sent.kind}"
                out[name] = out.get(name, 0) + 1
        return dict(sorted(out.items()))

    @property
    def total(self) -> int:
        """Every message sent."""
        return sum(len(wave) for wave in self.waves)


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def _good(topic: Topic, value: dict[str, Any]) -> Sent:
    return Sent(topic, str(value["customer_id"]).encode(), _encode(value), "good", value)


def generate(
    seed_value: int,
    start: datetime,
    customers: int,
    purchases: int,
    redemptions: int,
    refunds: int,
    repeat_share: float = 0.03,
    span: timedelta = ISSUED_SPAN,
) -> Workload:
    """A seeded workload; ``start`` is the service time at which the clock starts."""
    rng = random.Random(seed_value)
    names = [f"c{n:04d}" for n in range(customers)]
    if not timedelta(0) < span <= ISSUED_SPAN:
        raise ValueError(f"span must be within (0, {ISSUED_SPAN}]")
    span_ms = int(span.total_seconds() * 1000)
    offsets = rng.sample(range(span_ms), purchases)
    bought: list[dict[str, Any]] = []
    for n, offset in enumerate(offsets):
        at = start - ISSUED_FROM + timedelta(milliseconds=offset)
        whole = rng.choice([rng.randint(1, 9), rng.randint(10, 3000), rng.randint(10, 3000)])
        amount = Decimal(whole) + Decimal(rng.choice([0, 0, 0, rng.randint(1, 9999)])) / 10_000
        bought.append(
            {
                "event_id": f"p{n}",
                "occurred_at": iso(at),
                "customer_id": rng.choice(names),
                "order_id": f"o{n}",
                "amount": str(amount),
                "currency": "RUB",
                "channel": rng.choice(["pos", "web", "app"]),
            }
        )
    spend = [
        {
            "event_id": f"r{n}",
            "occurred_at": iso(start),
            "customer_id": rng.choice(names),
            "order_id": f"pay{n}",
            "points": rng.choice([rng.randint(1, 100), rng.randint(50, 600)]),
        }
        for n in range(redemptions)
    ]
    refunded = rng.sample(bought, min(refunds, len(bought)))
    back = [
        {
            "event_id": f"f{n}",
            "occurred_at": iso(start),
            "customer_id": purchase["customer_id"],
            "order_id": purchase["order_id"],
        }
        for n, purchase in enumerate(refunded)
    ]
    workload = Workload(seed_value, customers)
    for topic, values in ((Topic.PURCHASES, bought), (Topic.REDEMPTIONS, spend)):
        workload.waves.append(_with_repeats(rng, [_good(topic, v) for v in values], repeat_share))
    workload.waves.append(_with_repeats(rng, [_good(Topic.REFUNDS, v) for v in back], 0.03))
    return workload


def _with_repeats(rng: random.Random, wave: list[Sent], share: float) -> list[Sent]:
    """``wave`` with exact copies of some messages inserted somewhere after their original."""
    out = list(wave)
    for original in rng.sample(wave, int(len(wave) * share)):
        after = out.index(original) + 1
        copy = Sent(original.topic, original.key, original.value, "repeat", original.event)
        out.insert(rng.randint(after, len(out)), copy)
    return out


# --- the poison-pill storm -------------------------------------------------------------------

_KEYS = st.one_of(
    st.none(),
    st.sampled_from([f"c{n:04d}".encode() for n in range(50)]),
    st.binary(min_size=1, max_size=12),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
_NOT_UTF8 = st.tuples(st.binary(max_size=40), st.binary(max_size=40)).map(
    lambda parts: parts[0] + b"\xff" + parts[1]
)
_NOT_JSON = st.text(max_size=60).map(lambda text: "not json: " + text)
_NOT_OBJECT = st.one_of(
    st.lists(_JSON, max_size=4), st.integers(), st.text(max_size=20), st.booleans()
)


def _bad_purchase(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """A purchase with exactly one thing wrong, by construction."""
    value = dict(base)
    problem = draw(st.sampled_from(["missing", "amount", "time", "id", "channel", "type"]))
    if problem == "missing":
        del value[draw(st.sampled_from(sorted(value)))]
    elif problem == "amount":
        value["amount"] = draw(
            st.one_of(
                st.integers(max_value=0).map(str),
                st.integers(min_value=10**12 + 1).map(str),
                st.just("1.00001"),
                st.text(alphabet="abcxyz-", min_size=1, max_size=8),
            )
        )
    elif problem == "time":
        value["occurred_at"] = draw(
            st.sampled_from(["2026-12-01T05:00:00", "yesterday", "2026-13-01T00:00:00Z", ""])
        )
    elif problem == "id":
        value["event_id"] = draw(st.sampled_from(["", "x" * 129]))
    elif problem == "channel":
        value["channel"] = draw(st.text(max_size=10).filter(lambda c: c not in {"pos", "web"}))
        if value["channel"] == "app":
            value["channel"] = "kiosk"
    else:
        field_name = draw(st.sampled_from(["customer_id", "order_id", "amount", "occurred_at"]))
        value[field_name] = draw(st.one_of(st.lists(st.integers(), max_size=2), st.booleans()))
    return value


def _bad_redemption(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    value = dict(base)
    if draw(st.booleans()):
        value["points"] = draw(
            st.one_of(
                st.integers(max_value=0),
                st.floats(min_value=0.1, max_value=99.9).filter(lambda f: f != int(f)),
                st.text(alphabet="abc", min_size=1, max_size=4),
            )
        )
    else:
        del value[draw(st.sampled_from(sorted(value)))]
    return value


@st.composite
def _poison(draw: st.DrawFn, purchase: dict[str, Any], spend: dict[str, Any]) -> Sent:
    """One bad message of any category (not duplicate_conflict: that needs its original)."""
    category = draw(st.sampled_from(["not_utf8", "not_json", "not_an_object", "schema"]))
    topic = draw(st.sampled_from([Topic.PURCHASES, Topic.REDEMPTIONS, Topic.REFUNDS]))
    key = draw(_KEYS)
    if category == "not_utf8":
        return Sent(topic, key, draw(_NOT_UTF8), category)
    if category == "not_json":
        return Sent(topic, key, draw(_NOT_JSON).encode(), category)
    if category == "not_an_object":
        return Sent(topic, key, json.dumps(draw(_NOT_OBJECT)).encode(), category)
    if topic == Topic.REDEMPTIONS:
        return Sent(topic, key, _encode(_bad_redemption(draw, spend)), category)
    return Sent(Topic.PURCHASES, key, _encode(_bad_purchase(draw, purchase)), category)


def fuzz(seed_value: int, count: int, start: datetime) -> list[Sent]:
    """``count`` (or a few fewer, if hypothesis runs out of distinct ones) bad messages."""
    purchase = {
        "event_id": "bad-template",
        "occurred_at": iso(start),
        "customer_id": "c0000",
        "order_id": "bad-order",
        "amount": "100",
        "currency": "RUB",
        "channel": "pos",
    }
    spend = {
        "event_id": "bad-spend",
        "occurred_at": iso(start),
        "customer_id": "c0000",
        "order_id": "bad-pay",
        "points": 5,
    }
    found: list[Sent] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(seed_value)
    @given(_poison(purchase, spend))
    def collect(sent: Sent) -> None:
        found.append(sent)

    collect()
    return found


def poison_wave(seed_value: int, good: list[Sent], bad: list[Sent], conflicts: int) -> list[Sent]:
    """``good`` and ``bad`` shuffled together, plus ``conflicts`` re-uses of a good purchase's
    event_id with another amount, each after its original (same customer, same partition)."""
    rng = random.Random(seed_value)
    wave = [*good, *bad]
    rng.shuffle(wave)
    purchases = [s for s in good if s.topic == Topic.PURCHASES and s.kind == "good"]
    for original in rng.sample(purchases, min(conflicts, len(purchases))):
        assert original.event is not None
        changed = {**original.event, "amount": str(Decimal(original.event["amount"]) + 1)}
        after = wave.index(original) + 1
        conflict = Sent(original.topic, original.key, _encode(changed), "duplicate_conflict")
        wave.insert(rng.randint(after, len(wave)), conflict)
    return wave
