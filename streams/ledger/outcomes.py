"""What a ledger call did, as typed values; the worker decides what to do with each."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from schemas.errors import ErrorCode, InvalidEvent
from streams.ledger.codec import pairs
from streams.ledger.errors import UnexpectedReplyError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accrued:
    """Lots were made (maybe none: every rule capped or already used)."""

    version: int
    lots: tuple[tuple[str, int], ...]  # (lot_id, points) actually granted
    skipped: tuple[tuple[str, str], ...] = ()  # (lot_id, reason): once_per_customer, cap, exists


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A redemption was answered; ``balance`` is the active balance after it."""

    status: Literal["accepted", "rejected"]
    version: int
    balance: int


@dataclass(frozen=True, slots=True)
class ClawedBack:
    """A refund was applied (``unknown_order``: no lots came from that order, nothing to do)."""

    status: Literal["applied", "unknown_order"]
    version: int


@dataclass(frozen=True, slots=True)
class Fired:
    """Due timers of one customer were handled; ``events`` outbox entries were written."""

    customer_id: str
    version: int
    events: int


@dataclass(frozen=True, slots=True)
class Duplicate:
    """The same event with the same payload was applied before: nothing changed this time."""

    original: str  # the first outcome's status, e.g. ``applied`` or ``rejected``


@dataclass(frozen=True, slots=True)
class Conflict:
    """The same ``event_id`` came before with another payload: dead-letter this one."""

    kind: str
    event_id: str

    def error(self) -> InvalidEvent:
        """The dead-letter reason."""
        return InvalidEvent(
            ErrorCode.DUPLICATE_CONFLICT,
            f"{self.kind} event {self.event_id!r} was seen before with a different payload",
        )


@dataclass(frozen=True, slots=True)
class Ignored:
    """Nothing for the ledger to do (e.g. a campaign lot this customer already had)."""

    reason: str


@dataclass(frozen=True, slots=True)
class LotLimit:
    """An accrual refused before any write: its lots would take the customer's record past
    ``max`` fields (it has ``fields``). Dead-letter it; a replay can apply it later."""

    kind: str
    event_id: str
    fields: int
    max: int

    def error(self) -> InvalidEvent:
        """The dead-letter reason."""
        return InvalidEvent(
            ErrorCode.LOT_LIMIT,
            f"{self.kind} event {self.event_id!r} was not applied: the customer's record holds "
            f"{self.fields} fields and may not grow past {self.max} (BONUS_MAX_RECORD_FIELDS); "
            "replay it once lots have burned or been spent",
        )


Outcome = Accrued | Redeemed | ClawedBack | Duplicate | Conflict | Ignored | LotLimit
"""Any outcome of applying one input event."""


@dataclass(frozen=True, slots=True)
class CampaignRecorded:
    """A campaign launch is in the registry; every shard's fan-out grants it from there.

    ``recorded``: new; ``duplicate``: this very launch again; ``relaunch``: another launch of
    the campaign with the same terms, which changes nothing (``event_id`` is the first one's).
    """

    status: Literal["recorded", "duplicate", "relaunch"]
    campaign_id: str
    event_id: str


@dataclass(frozen=True, slots=True)
class UnknownSegment:
    """A campaign launch names a segment the rules file does not have: dead-letter it."""

    campaign_id: str
    segment: str

    def error(self) -> InvalidEvent:
        """The dead-letter reason."""
        return InvalidEvent(
            ErrorCode.UNKNOWN_SEGMENT,
            f"campaign {self.campaign_id!r} names segment {self.segment!r}, which the rules "
            "file does not define",
        )


LaunchOutcome = CampaignRecorded | Conflict | UnknownSegment
"""Any outcome of applying a campaign launch."""


def _refusal(kind: str, event_id: str, reply: dict[str, Any]) -> Outcome | None:
    """The outcome of a reply that applied nothing (duplicate, conflict, limit), else None."""
    status = reply["status"]
    if status == "duplicate":
        return Duplicate(original=str(reply.get("original", "")))
    if status == "conflict":
        log.warning("%s event %s repeated with another payload", kind, event_id)
        return Conflict(kind=kind, event_id=event_id)
    if status == "lot_limit":
        fields, limit = int(reply["fields"]), int(reply["max"])
        log.info("%s event %s refused: record at %s of %s fields", kind, event_id, fields, limit)
        return LotLimit(kind=kind, event_id=event_id, fields=fields, max=limit)
    if status in ("ignored", "already_granted"):
        return Ignored(reason=str(reply.get("reason", status)))
    return None


def outcome_from_reply(kind: str, event_id: str, reply: dict[str, Any]) -> Outcome:
    """The typed outcome of a script's JSON reply (``stale`` is handled by the caller)."""
    refused = _refusal(kind, event_id, reply)
    if refused is not None:
        return refused
    status = reply["status"]
    version = int(reply.get("version", 0))
    if status == "applied" and "lots" in reply:
        lots = tuple((str(i), int(p)) for i, p in pairs(reply["lots"]))
        skipped = tuple((str(i), str(r)) for i, r in pairs(reply.get("skipped")))
        return Accrued(version=version, lots=lots, skipped=skipped)
    if status in ("accepted", "rejected"):
        return Redeemed(status=status, version=version, balance=int(reply["balance"]))
    if status in ("applied", "unknown_order"):
        return ClawedBack(status=status, version=version)
    raise UnexpectedReplyError(f"unexpected script reply {reply!r}")
