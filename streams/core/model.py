"""Plain data the core works on: customer statistics and the lots an event would create.

All datetimes are aware and in UTC. The ledger stores these facts; the core only computes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class CustomerStats:
    """A customer's purchase statistics BEFORE the event at hand (segments are judged on them)."""

    purchases: int = 0
    total_amount: Decimal = Decimal(0)
    last_purchase_at: datetime | None = None  # aware UTC


@dataclass(frozen=True, slots=True)
class WarningPlan:
    """One expiry warning a lot is due, for one ``warn_before`` lead."""

    lead: str  # canonical duration text, e.g. "P3D" (str(Duration))
    due_at: datetime  # expires_at minus lead, nominal part on the rules' tz wall clock
    coalesce_until: datetime  # expires_at + warning_coalesce: how far a warning it triggers reaches


@dataclass(frozen=True, slots=True)
class CapPlan:
    """A ``max_points`` per ``per`` cap: what the ledger must check atomically before granting."""

    max_points: int
    window_start: datetime  # issued_at - per: lots of this rule with issued_at >= it count


@dataclass(frozen=True, slots=True)
class LotPlan:
    """One lot an event would create, before caps and once-per-customer are applied."""

    lot_id: str  # deterministic from (source kind, source event_id, rule_id or campaign_id)
    rule_id: str | None
    campaign_id: str | None
    points: int  # > 0
    issued_at: datetime  # the event's occurred_at (UTC)
    activates_at: datetime
    expires_at: datetime
    warnings: tuple[WarningPlan, ...]  # one per warn_before lead, sorted by due_at
    once_per_customer: bool
    cap: CapPlan | None
    source_event_id: str
    order_id: str | None
    # The order's amount, for the refunded share of a partial refund (None when not a purchase).
    order_amount: Decimal | None = None
