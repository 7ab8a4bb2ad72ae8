"""Output payloads: the facts this service publishes. Every one has ``event_id`` and ``type``.

Outputs are built by the ledger in Python (aware datetimes welcome) and read back by
consumers; unknown fields are refused here because we are their only producer.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.encode import to_json_bytes
from schemas.errors import ErrorCode
from schemas.times import Timestamp
from schemas.types import (
    CampaignId,
    Code,
    Count,
    CustomerId,
    DurationValue,
    EventId,
    LotId,
    OrderId,
    Points,
    RuleId,
)

__all__ = [
    "DEAD_LETTER_PAYLOAD_LIMIT",
    "BalanceSnapshot",
    "BonusAccrued",
    "BonusBurned",
    "BonusClawedBack",
    "DeadLetter",
    "ErrorInfo",
    "ExpiryWarning",
    "LotPoints",
    "MetricsWindow",
    "NextExpiry",
    "OutputModel",
    "RedemptionResult",
    "WarnedLot",
    "payload_text",
    "to_json_bytes",
]


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError(ErrorCode.INVALID_VALUE.value, message)


class OutputModel(BaseModel):
    """Common configuration of outputs: frozen, strict about unknown fields."""

    # Defaults such as ``type`` are always written, so the serialisation schema requires them.
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )

    event_id: EventId


class CustomerOutput(OutputModel):
    """An output about one customer."""

    customer_id: CustomerId


class _Origin(CustomerOutput):
    """A lot comes from exactly one rule or one campaign."""

    rule_id: RuleId | None = None
    campaign_id: CampaignId | None = None

    @model_validator(mode="after")
    def _exactly_one_origin(self) -> Self:
        if (self.rule_id is None) == (self.campaign_id is None):
            raise _invalid("give exactly one of rule_id or campaign_id")
        return self


class BonusAccrued(_Origin):
    """A lot of points was issued; it is active from ``activates_at`` until ``expires_at``."""

    type: Literal["bonus.accrued"] = "bonus.accrued"
    lot_id: LotId
    points: Points
    source_event_id: EventId
    issued_at: Timestamp
    activates_at: Timestamp
    expires_at: Timestamp

    @model_validator(mode="after")
    def _ordered_times(self) -> Self:
        # issued_at is left free: a late event may be processed after its lot activated.
        if self.activates_at >= self.expires_at:
            raise _invalid("activates_at must be earlier than expires_at")
        return self


class BonusClawedBack(CustomerOutput):
    """A refund took back ``points`` of a lot; ``points_unrecovered`` of them were spent."""

    type: Literal["bonus.clawed_back"] = "bonus.clawed_back"
    lot_id: LotId
    points: Points
    points_unrecovered: Count
    source_event_id: EventId
    # Beside the contract: lets analytics attribute clawbacks without a lot lookup.
    rule_id: RuleId | None = None
    campaign_id: CampaignId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.points_unrecovered > self.points:
            raise _invalid("points_unrecovered cannot exceed points")
        if self.rule_id is not None and self.campaign_id is not None:
            raise _invalid("give at most one of rule_id or campaign_id")
        return self


class LotPoints(BaseModel):
    """Points taken from one lot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lot_id: LotId
    points: Points


class RedemptionResult(CustomerOutput):
    """The answer to a RedemptionRequest: all requested points taken, or nothing."""

    type: Literal["bonus.redemption"] = "bonus.redemption"
    request_event_id: EventId
    order_id: OrderId
    status: Literal["accepted", "rejected"]
    points_requested: Points
    points_redeemed: Count
    reason: Code | None = None
    lots: tuple[LotPoints, ...] = ()
    balance_after: Count

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        taken = sum(lot.points for lot in self.lots)
        if self.status == "accepted":
            if self.reason is not None or self.points_redeemed != self.points_requested:
                raise _invalid("accepted: redeem exactly points_requested, no reason")
            if taken != self.points_redeemed:
                raise _invalid("lots must add up to points_redeemed")
        elif self.reason is None or self.points_redeemed != 0 or self.lots:
            raise _invalid("rejected: give a reason, redeem 0 points from no lots")
        return self


class WarnedLot(BaseModel):
    """A lot with points left that will burn at ``expires_at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lot_id: LotId
    points: Points
    expires_at: Timestamp


class ExpiryWarning(CustomerOutput):
    """Some points burn soon: one warning per customer and lead covers every due lot."""

    type: Literal["bonus.expiry_warning"] = "bonus.expiry_warning"
    lead: DurationValue
    points_expiring: Points
    expires_at: Timestamp
    lots: tuple[WarnedLot, ...] = Field(min_length=1)
    balance: Count

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.points_expiring != sum(lot.points for lot in self.lots):
            raise _invalid("points_expiring must be the sum of the lots' points")
        if self.expires_at != min(lot.expires_at for lot in self.lots):
            raise _invalid("expires_at must be the earliest deadline of the lots")
        return self


class BonusBurned(_Origin):
    """What was left of a lot burned at its deadline."""

    type: Literal["bonus.burned"] = "bonus.burned"
    lot_id: LotId
    points: Points
    expired_at: Timestamp


class NextExpiry(BaseModel):
    """The earliest deadline of the active points and how many burn then."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    points: Points
    at: Timestamp


class BalanceSnapshot(CustomerOutput):
    """A customer's balance after a change; the topic is compacted by customer."""

    type: Literal["bonus.balance"] = "bonus.balance"
    balance: Count
    pending: Count
    next_expiry: NextExpiry | None
    updated_at: Timestamp
    version: Count


class MetricsWindow(OutputModel):
    """Counters of one dimension over one closed tumbling window of service time."""

    type: Literal["bonus.metrics"] = "bonus.metrics"
    window_start: Timestamp
    window_end: Timestamp
    dimension: str = Field(pattern=r"^(all|rule:.+|campaign:.+)$", max_length=140)
    accrued_points: Count
    accrued_lots: Count
    redeemed_points: Count
    burned_points: Count
    clawed_back_points: Count
    warnings: Count
    warned_points: Count
    redeemed_after_warning_points: Count
    active_customers: Count

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.window_end <= self.window_start:
            raise _invalid("window_end must be later than window_start")
        return self


DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024


def payload_text(raw: bytes) -> tuple[str, bool]:
    """The original bytes as text for a DeadLetter, cut to 64 KiB of UTF-8; and whether cut."""
    cut = len(raw) > DEAD_LETTER_PAYLOAD_LIMIT
    # Undecodable bytes become U+FFFD (3 bytes each), so cut again after decoding.
    text = raw[:DEAD_LETTER_PAYLOAD_LIMIT].decode("utf-8", errors="replace")
    encoded = text.encode("utf-8")
    if len(encoded) > DEAD_LETTER_PAYLOAD_LIMIT:
        cut = True
        text = encoded[:DEAD_LETTER_PAYLOAD_LIMIT].decode("utf-8", errors="ignore")
    return text, cut


class ErrorInfo(BaseModel):
    """Why an event was refused: a stable code (see ``ErrorCode``) and a human message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Code
    message: str


class DeadLetter(OutputModel):
    """An input that could not be processed, with where it came from and why."""

    type: Literal["bonus.dead_letter"] = "bonus.dead_letter"
    source_topic: str = Field(min_length=1, max_length=249)
    partition: Count
    offset: Count
    key: str | None
    error: ErrorInfo
    payload: str
    # Beside the contract: tells a reader that ``payload`` is not the whole original.
    payload_truncated: bool = False
    # Beside the contract: the original's size in bytes and SHA-256 (hex), so that a cut
    # payload still identifies the message kept in ``source_topic`` at ``offset``.
    payload_bytes: Count | None = None
    payload_sha256: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")
    failed_at: Timestamp

    @model_validator(mode="after")
    def _payload_limit(self) -> Self:
        if len(self.payload.encode("utf-8", errors="surrogatepass")) > DEAD_LETTER_PAYLOAD_LIMIT:
            raise _invalid("payload is longer than 64 KiB; cut it with payload_text()")
        return self
