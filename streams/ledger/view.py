"""Reading a customer's record in Python: statistics, version and the lots, for segment
evaluation, refunds and ``GET /customers/{id}``. Mirrors the packing in ``lua/lib.lua``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from streams.core.model import CustomerStats
from streams.ledger.codec import from_ms, to_ms

RS = "\x1e"
US = "\x1f"
COLD_ORDER = "~"
"""The ``order_ref`` of a lot whose order is in the cold tier (cold lots carry no ref)."""


def b36(value: str) -> int:
    """A base-36 number as the scripts write it (maybe negative)."""
    return -int(value[1:], 36) if value.startswith("-") else int(value, 36)


def t36(value: str) -> int:
    """Milliseconds from the scripts' time form: base-36 seconds, or base-36 ms then ``.``."""
    return b36(value[:-1]) if value.endswith(".") else b36(value) * 1000


def stats_from(fields: dict[str, str | None]) -> tuple[int, CustomerStats]:
    """``(version, statistics)`` from the ``v`` and ``S`` (``n,t,p,s``) fields of a record."""
    version = int(fields.get("v") or 0)
    packed = (fields.get("S") or ",,,").split(",")
    stats = CustomerStats(
        purchases=b36(packed[0]) if packed[0] else 0,
        total_amount=Decimal(packed[1] or 0),
        last_purchase_at=from_ms(t36(packed[2])) if packed[2] else None,
    )
    return version, stats


def totals_from(fields: dict[str, str]) -> dict[str, int]:
    """Points accrued, redeemed, burned and clawed back ever, from the ``T`` field."""
    packed = (fields.get("T") or "").split(",")
    packed += [""] * (4 - len(packed))
    names = ("accrued", "redeemed", "burned", "clawed_back")
    return {name: b36(x) if x else 0 for name, x in zip(names, packed, strict=True)}


@dataclass(frozen=True, slots=True)
class StoredLot:
    """A lot as stored: outstanding (``points`` > 0) or retained with nothing left (kept for its
    order's refunds or its rule's cap). ``shape`` is still an interned code (see keys.py)."""

    lot_id: str
    shape: str
    original: int
    points: int
    issued_at: datetime
    activates_at: datetime
    expires_at: datetime
    order_ref: str | None
    position: int  # its place among its order's lots
    warned: frozenset[str]  # lead codes
    clawed: int

    @classmethod
    def parse(cls, lot_id: str, packed: str, names: Mapping[str, str]) -> StoredLot:
        """Unpack ``shape,orig,iss,oref,exp-iss,left,act-iss,k,warned,clawed`` (see keys.py);
        ``names`` is the shard's names hash (a lot may use its shape's validity)."""
        f = _lot_fields(packed)
        original, issued = b36(f[1]), t36(f[2])
        validity = f[4] or names.get(f"~{f[0]}")
        if validity is None:
            raise ValueError(f"lot {lot_id}: shape {f[0]} has no validity in the names hash")
        return cls(
            lot_id=lot_id,
            shape=f[0],
            original=original,
            points=b36(f[5]) if f[5] else original,
            issued_at=from_ms(issued),
            activates_at=from_ms(issued + (t36(f[6]) if f[6] else 0)),
            expires_at=from_ms(issued + t36(validity)),
            order_ref=f[3] or None,
            position=b36(f[7]) if f[7] else 0,
            warned=frozenset(x for x in f[8].split(".") if x),
            clawed=b36(f[9]) if f[9] else 0,
        )


def _lot_fields(packed: str) -> list[str]:
    f = packed.split(",")
    return f + [""] * (10 - len(f))


def stored_lots(
    fields: Mapping[str, str], names: Mapping[str, str], cold: Mapping[str, str] | None = None
) -> list[StoredLot]:
    """Every lot of a customer record, outstanding or retained, with those of its cold tier
    (``cold``: the customer's cold units hash, see "Cold tier" in keys.py)."""
    lots = [StoredLot.parse(f[1:], v, names) for f, v in fields.items() if f.startswith("L")]
    for unit, value in (cold or {}).items():
        if unit[:1] in ("O", "L"):
            for k, (lot_id, packed) in enumerate(_cold_lots(value)):
                lot = StoredLot.parse(lot_id, packed, names)
                if unit.startswith("O"):
                    lot = replace(lot, order_ref=COLD_ORDER, position=k)
                lots.append(lot)
    return lots


def _cold_lots(unit: str) -> list[tuple[str, str]]:
    """``(lot id, packed lot)`` of a cold unit ``head US id RS packed US ...``, in order."""
    lots = []
    for entry in unit.split(US)[1:]:
        lot_id, packed = entry.split(RS, 1)
        lots.append((lot_id, packed))
    return lots


def origin_code(shape: str, names: Mapping[str, str]) -> str | None:
    """The interned origin code of a lot shape (``s:<origin>,...`` in the names hash)."""
    name = names.get(f"#{shape}")
    return name[2:].split(",", 1)[0] if name is not None and name.startswith("s:") else None


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """An order that made lots: amounts as exact decimals, and per lot (id, original, clawed)."""

    amount: Decimal
    refunded: Decimal
    lots: tuple[tuple[str, int, int], ...]

    @classmethod
    def from_record(cls, order_id: str, fields: dict[str, str]) -> StoredOrder | None:
        """The order ``order_id`` of a customer record (``ref RS amount RS refunded``; its lots
        carry its ref), or None if the record has none."""
        packed = fields.get(f"O{order_id}")
        if packed is None:
            return None
        ref, amount, refunded = packed.split(RS)
        mine = []  # (k, lot id, original, clawed)
        for name, value in fields.items():
            f = _lot_fields(value) if name.startswith("L") else []
            if f and f[3] == ref:
                mine.append((b36(f[7] or "0"), name[1:], b36(f[1]), b36(f[9] or "0")))
        return cls(
            amount=Decimal(amount),
            refunded=Decimal(refunded or 0),
            lots=tuple((lot_id, orig, clawed) for _, lot_id, orig, clawed in sorted(mine)),
        )

    @classmethod
    def from_cold(cls, unit: str) -> StoredOrder:
        """An order from its cold unit (``amount RS refunded`` then its lots, in order)."""
        amount, _, refunded = unit.split(US, 1)[0].partition(RS)
        lots = []
        for lot_id, packed in _cold_lots(unit):
            f = _lot_fields(packed)
            lots.append((lot_id, b36(f[1]), b36(f[9] or "0")))
        return cls(amount=Decimal(amount), refunded=Decimal(refunded or 0), lots=tuple(lots))


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
    customer_id: str,
    fields: dict[str, str],
    names: dict[str, str],
    now: datetime,
    cold: dict[str, str] | None = None,
) -> CustomerView:
    """The view of a record (and its cold tier) at ``now``: lots past their deadline count for
    nothing, even if the timer has not burned them yet."""
    lots: list[LotView] = []
    for lot in stored_lots(fields, names, cold):
        if lot.points <= 0 or lot.expires_at <= now:
            continue
        origin = names.get(f"#{origin_code(lot.shape, names)}", "?:?")
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
    totals = totals_from(fields)
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
