"""Redemption, the reference model: all-or-nothing over active lots, earliest deadline first.

The Redis ledger does the same in Lua, atomically; property tests compare the two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LotBalance:
    """What is left of one lot, and when it can be spent."""

    lot_id: str
    points_left: int
    issued_at: datetime
    activates_at: datetime
    expires_at: datetime

    def is_active(self, now: datetime) -> bool:
        """Spendable at ``now``: ``activates_at <= now < expires_at``."""
        return self.activates_at <= now < self.expires_at


def consumption_order(lots: Iterable[LotBalance]) -> list[LotBalance]:
    """Lots in the order a redemption takes points: earliest ``expires_at``, then earliest
    ``issued_at``, then ``lot_id`` (so the order is total and the same everywhere)."""
    return sorted(lots, key=lambda lot: (lot.expires_at, lot.issued_at, lot.lot_id))


def active_balance(lots: Iterable[LotBalance], now: datetime) -> int:
    """The points spendable at ``now``."""
    return sum(lot.points_left for lot in lots if lot.is_active(now) and lot.points_left > 0)


def allocate(
    lots: Iterable[LotBalance], points: int, now: datetime
) -> list[tuple[str, int]] | None:
    """``[(lot_id, points taken)]`` covering ``points`` from active lots, or None if the active
    balance is too small (then nothing is taken: redemption is all-or-nothing)."""
    if points <= 0:
        raise ValueError("a redemption asks for a positive number of points")
    taken: list[tuple[str, int]] = []
    wanted = points
    for lot in consumption_order(lot for lot in lots if lot.is_active(now)):
        if wanted == 0:
            break
        take = min(lot.points_left, wanted)
        if take > 0:
            taken.append((lot.lot_id, take))
            wanted -= take
    return taken if wanted == 0 else None
