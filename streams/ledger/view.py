"""Reading a customer's record in Python: statistics, version and the lots, for segment
evaluation, refunds and ``GET /customers/{id}``. Mirrors the packing in ``lua/lib.lua``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from streams.core.model import CustomerStats
from streams.ledger.codec import from_ms, to_ms

RS, US = "\x1e", "\x1f"


def b36(value: str) -> int:
    """A base-36 number as the scripts write it (maybe negative)."""
    return -int(value[1:], 36) if value.startswith("-") else int(value, 36)


def stats_from(fields: dict[str, str | None]) -> tuple[int, CustomerStats]:
    """``(version, statistics)`` from the ``v``, ``n``, ``t``, ``p`` fields of a record."""
    version = int(fields.get("v") or 0)
    last = fields.get("p")
    stats = CustomerStats(
        purchases=int(fields.get("n") or 0),
        total_amount=Decimal(fields.get("t") or 0),
        last_purchase_at=from_ms(int(last)) if last else None,
    )
    return version, stats


@dataclass(frozen=True, slots=True)
class StoredLot:
    """An outstanding lot as stored (origin still as an interned code)."""

    lot_id: str
    code: str
    original: int
    points: int
    issued_at: datetime
    activates_at: datetime
    expires_at: datetime
    warned: frozenset[str]  # lead codes

    @classmethod
    def parse(cls, lot_id: str, packed: str) -> StoredLot:
        """Unpack ``code,orig,left,issued,act-issued,exp-issued,warned,...`` (see keys.py)."""
        f = packed.split(",")
        issued = b36(f[3])
        return cls(
            lot_id=lot_id,
            code=f[0],
            original=b36(f[1]),
            points=b36(f[2]),
            issued_at=from_ms(issued),
            activates_at=from_ms(issued + b36(f[4])),
            expires_at=from_ms(issued + b36(f[5])),
            warned=frozenset(x for x in f[6].split(".") if x),
        )


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order that made lots: amounts as exact decimals, and per lot (id, original, clawed)."""

    amount: Decimal
    refunded: Decimal
    lots: tuple[tuple[str, int, int], ...]

    @classmethod
    def parse(cls, packed: str) -> StoredOrder:
        """Unpack ``amount RS refunded RS deadline (RS id US orig US clawed US code)*``."""
        parts = packed.split(RS)
        lots = []
        for item in parts[3:]:
            lot_id, orig, clawed, _code = item.split(US)
            lots.append((lot_id, b36(orig), b36(clawed)))
        return cls(amount=Decimal(parts[0]), refunded=Decimal(parts[1]), lots=tuple(lots))


@dataclass(frozen=True, slots=True)
class LotView:
    """An active or pending lot as ``GET /customers/{id}`` shows it."""

    lot_id: str
    points: int
    status: Literal["active", "pending"]
    rule_id: str | None
    campaign_id: str | None
    issued_at: datetime
    activates_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerView:
    """The BalanceSnapshot fields of a customer at ``updated_at`` plus its lots."""

    customer_id: str
    balance: int
    pending: int
    next_expiry: tuple[int, datetime] | None  # (points, at)
    updated_at: datetime
    version: int
    lots: tuple[LotView, ...]
    totals: dict[str, int]  # accrued, redeemed, burned, clawed_back (ever)


def build_view(
    customer_id: str, fields: dict[str, str], names: dict[str, str], now: datetime
) -> CustomerView:
    """The view of a record at ``now``: lots past their deadline count for nothing, even if
    the timer has not burned them yet."""
    lots: list[LotView] = []
    for field, packed in fields.items():
        if not field.startswith("L"):
            continue
        lot = StoredLot.parse(field[1:], packed)
        if lot.points <= 0 or lot.expires_at <= now:
            continue
        origin = names.get(f"#{lot.code}", "?:?")
        lots.append(
            LotView(
                lot_id=lot.lot_id,
                points=lot.points,
                status="active" if lot.activates_at <= now else "pending",
                rule_id=origin[2:] if origin.startswith("r:") else None,
                campaign_id=origin[2:] if origin.startswith("c:") else None,
                issued_at=lot.issued_at,
                activates_at=lot.activates_at,
                expires_at=lot.expires_at,
            )
        )
    lots.sort(key=lambda x: (x.expires_at, x.issued_at, x.lot_id))
    active = [x for x in lots if x.status == "active"]
    next_expiry = None
    if active:
        first = active[0].expires_at
        next_expiry = (sum(x.points for x in active if x.expires_at == first), first)
    totals = {
        name: int(fields.get(field) or 0)
        for name, field in (
            ("accrued", "ta"),
            ("redeemed", "tr"),
            ("burned", "tb"),
            ("clawed_back", "tc"),
        )
    }
    return CustomerView(
        customer_id=customer_id,
        balance=sum(x.points for x in active),
        pending=sum(x.points for x in lots if x.status == "pending"),
        next_expiry=next_expiry,
        updated_at=from_ms(to_ms(now)),
        version=int(fields.get("v") or 0),
        lots=tuple(lots),
        totals=totals,
    )
