"""Outbox entries and how they become the contract's output events.

The scripts append compact entries (``t`` = type, ``d`` = JSON with times as epoch ms and
integers as strings) to the shard's stream; :func:`render` turns one into ``(topic, key,
model)``. Event ids are derived from what identifies the state change (lot id, source event,
lead and trigger lot, customer version), so a replayed relay publishes the same ids.

Entries carry a little more than the contract's payloads, for analytics reading the outbox:
the rule or campaign of every lot a redemption took from and whether it had been warned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemas.outputs import (
    BalanceSnapshot,
    BonusAccrued,
    BonusBurned,
    BonusClawedBack,
    ExpiryWarning,
    LotPoints,
    NextExpiry,
    OutputModel,
    RedemptionResult,
    WarnedLot,
)
from schemas.topics import Topic
from streams.core.ids import output_event_id
from streams.ledger.codec import from_ms, pairs, text


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One outbox stream entry: its stream id, type and data."""

    id: str
    type: str
    data: dict[str, Any]

    @classmethod
    def parse(cls, entry_id: Any, fields: dict[Any, Any]) -> OutboxEntry:
        """An entry from an XRANGE reply (bytes or str)."""
        decoded = {text(k): text(v) for k, v in fields.items()}
        return cls(id=text(entry_id), type=decoded["t"], data=json.loads(decoded["d"]))

    @property
    def customer_id(self) -> str:
        """The customer the entry is about."""
        return str(self.data["c"])


def _origin(data: dict[str, Any]) -> dict[str, Any]:
    return {"rule_id": data.get("rule"), "campaign_id": data.get("camp")}


def _accrued(d: dict[str, Any]) -> OutputModel:
    return BonusAccrued(
        event_id=output_event_id("accrued", d["lot"]),
        customer_id=d["c"],
        lot_id=d["lot"],
        points=int(d["pts"]),
        source_event_id=d["src"],
        issued_at=from_ms(int(d["iss"])),
        activates_at=from_ms(int(d["act"])),
        expires_at=from_ms(int(d["exp"])),
        **_origin(d),
    )


def _clawed_back(d: dict[str, Any]) -> OutputModel:
    return BonusClawedBack(
        event_id=output_event_id("clawed_back", d["lot"], d["src"]),
        customer_id=d["c"],
        lot_id=d["lot"],
        points=int(d["pts"]),
        points_unrecovered=int(d["unrec"]),
        source_event_id=d["src"],
        **_origin(d),
    )


def _redemption(d: dict[str, Any]) -> OutputModel:
    return RedemptionResult(
        event_id=output_event_id("redemption", d["c"], d["req"]),
        customer_id=d["c"],
        request_event_id=d["req"],
        order_id=d["order"],
        status=d["status"],
        points_requested=int(d["want"]),
        points_redeemed=int(d["got"]),
        reason=d.get("reason"),
        lots=tuple(LotPoints(lot_id=x["lot"], points=int(x["pts"])) for x in pairs(d["lots"])),
        balance_after=int(d["bal"]),
    )


def _warning(d: dict[str, Any]) -> OutputModel:
    lead = d["lead"]
    return ExpiryWarning(
        event_id=output_event_id("expiry_warning", d["c"], lead, d["trig"]),
        customer_id=d["c"],
        lead=lead,
        points_expiring=int(d["pts"]),
        expires_at=from_ms(int(d["exp"])),
        lots=tuple(
            WarnedLot(lot_id=x["lot"], points=int(x["pts"]), expires_at=from_ms(int(x["exp"])))
            for x in pairs(d["lots"])
        ),
        balance=int(d["bal"]),
    )


def _burned(d: dict[str, Any]) -> OutputModel:
    return BonusBurned(
        event_id=output_event_id("burned", d["lot"]),
        customer_id=d["c"],
        lot_id=d["lot"],
        points=int(d["pts"]),
        expired_at=from_ms(int(d["exp"])),
        **_origin(d),
    )


def _balance(d: dict[str, Any]) -> OutputModel:
    next_expiry = None
    if "nx_at" in d:
        next_expiry = NextExpiry(points=int(d["nx_pts"]), at=from_ms(int(d["nx_at"])))
    # The id covers the whole snapshot, not just (customer, version): a Redis that lost its
    # last second (AOF everysec, a power loss) hands a version out again with other values, and
    # that snapshot must not look like a repeat of the one already published.
    state = (d["bal"], d["pend"], d["at"], d.get("nx_at", ""), d.get("nx_pts", ""))
    return BalanceSnapshot(
        event_id=output_event_id("balance", d["c"], d["v"], *state),
        customer_id=d["c"],
        balance=int(d["bal"]),
        pending=int(d["pend"]),
        next_expiry=next_expiry,
        updated_at=from_ms(int(d["at"])),
        version=int(d["v"]),
    )


_RENDERERS = {
    "accrued": (Topic.ACCRUALS, _accrued),
    "clawed_back": (Topic.ACCRUALS, _clawed_back),
    "redemption": (Topic.REDEMPTION_RESULTS, _redemption),
    "warning": (Topic.EXPIRY_WARNINGS, _warning),
    "burned": (Topic.BURNS, _burned),
    "balance": (Topic.BALANCES, _balance),
}


def render(entry: OutboxEntry) -> tuple[Topic, str, OutputModel]:
    """``(topic, key, event)`` of an outbox entry; the key is the customer id."""
    topic, build = _RENDERERS[entry.type]
    return topic, entry.customer_id, build(entry.data)
