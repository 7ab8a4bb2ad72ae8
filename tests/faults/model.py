"""The reference model: what the waves of a workload must do, in plain Python.

It shares no code with ``streams/core`` or ``streams/ledger``; it only knows the suite's one
rule (10 % of the amount, floored, valid 2 h, warned 1 h before) and the contract:
* a purchase makes one lot unless its points are 0; a repeated event id changes nothing;
* a redemption is all or nothing against the balance, taking the earliest deadline first;
* a full refund claws back the rest of the order's lot; what was spent is unrecovered;
* every lot with points left is warned once (lead PT1H) and burns its rest at its deadline.
Effects are keyed by what they are about (the purchase a lot came from, the request, ...), so
that they can be compared with what the output topics say whatever the lot ids are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from tests.faults.workload import LEAD_TEXT, PERCENT, VALID_FOR, Sent

Effect = tuple[str, str]
"""(kind, what it is about): ("accrued", purchase), ("redemption", request),
("clawed_back", "refund/purchase"), ("warning", "purchase/lead"), ("burned", purchase)."""


def parse_time(text: str) -> datetime:
    """An RFC 3339 time with ``Z`` or an offset."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Lot:
    """One lot, known by the purchase that made it."""

    source: str
    customer: str
    order: str
    points: int
    left: int
    expires: datetime


@dataclass
class Model:
    """The expected effects of the waves, applied in order."""

    lots: dict[str, Lot] = field(default_factory=dict)
    by_customer: defaultdict[str, list[Lot]] = field(default_factory=lambda: defaultdict(list))
    seen: set[tuple[str, str]] = field(default_factory=set)
    effects: dict[Effect, Any] = field(default_factory=dict)
    totals: defaultdict[str, defaultdict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )

    def apply(self, sent: Sent) -> None:
        """One input message (bad ones change nothing)."""
        if sent.bad or sent.event is None:
            return
        event = sent.event
        if (sent.topic.value, event["event_id"]) in self.seen:
            return
        self.seen.add((sent.topic.value, event["event_id"]))
        if sent.topic.value == "purchases":
            self._purchase(event)
        elif sent.topic.value == "redemptions":
            self._redeem(event)
        else:
            self._refund(event)

    def _purchase(self, event: dict[str, Any]) -> None:
        amount = Decimal(event["amount"])
        points = int((amount * PERCENT / 100).to_integral_value(rounding=ROUND_FLOOR))
        if points == 0:
            return
        expires = parse_time(event["occurred_at"]) + VALID_FOR
        lot = Lot(
            event["event_id"], event["customer_id"], event["order_id"], points, points, expires
        )
        self.lots[lot.source] = lot
        self.by_customer[lot.customer].append(lot)
        self.effects[("accrued", lot.source)] = {"points": points, "expires_at": expires}
        self.totals[lot.customer]["accrued"] += points

    def balance(self, customer: str) -> int:
        """Points left (every lot is active while the waves are applied)."""
        return sum(lot.left for lot in self.by_customer.get(customer, []))

    def _redeem(self, event: dict[str, Any]) -> None:
        customer, want = event["customer_id"], int(event["points"])
        balance = self.balance(customer)
        if balance < want:
            self.effects[("redemption", event["event_id"])] = {
                "status": "rejected",
                "points": 0,
                "lots": {},
                "balance_after": balance,
            }
            return
        taken: dict[str, int] = {}
        left = want
        for lot in sorted(self.by_customer[customer], key=lambda lot: lot.expires):
            take = min(left, lot.left)
            if take:
                lot.left -= take
                left -= take
                taken[lot.source] = take
        self.totals[customer]["redeemed"] += want
        self.effects[("redemption", event["event_id"])] = {
            "status": "accepted",
            "points": want,
            "lots": taken,
            "balance_after": balance - want,
        }

    def _refund(self, event: dict[str, Any]) -> None:
        for lot in self.by_customer.get(event["customer_id"], []):
            if lot.order != event["order_id"]:
                continue
            recovered = lot.left
            lot.left = 0
            self.totals[lot.customer]["clawed_back"] += recovered
            self.effects[("clawed_back", f"{event['event_id']}/{lot.source}")] = {
                "points": lot.points,
                "unrecovered": lot.points - recovered,
            }

    def expire(self) -> None:
        """The timers: every lot with points left is warned once, then burns them."""
        for lot in self.lots.values():
            if lot.left == 0:
                continue
            self.effects[("warning", f"{lot.source}/{LEAD_TEXT}")] = {"points": lot.left}
            self.effects[("burned", lot.source)] = {"points": lot.left, "expired_at": lot.expires}
            self.totals[lot.customer]["burned"] += lot.left

    def customers(self) -> list[str]:
        """Every customer with a lot."""
        return sorted(self.by_customer)


def canonical(value: Any) -> str:
    """A stable text of an effect's value, for comparisons and the report."""
    return json.dumps(value, sort_keys=True, default=str)
