"""Input payloads: what point-of-sale, shop, apps and marketing send to the ``in`` topics.

Commands are imperatives (``RedemptionRequest``), facts are nouns or past tense. Unknown fields
are ignored so senders can add fields first; missing or wrong fields are errors.
"""

from __future__ import annotations

from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from schemas.durations import Duration
from schemas.errors import ErrorCode
from schemas.times import Timestamp
from schemas.types import (
    Amount,
    CampaignId,
    Channel,
    Currency,
    CustomerId,
    DurationValue,
    EventId,
    Name,
    OrderId,
    Points,
    Quantity,
    Sku,
    StoreId,
)

MAX_ITEMS: Final = 1000
MAX_WARNINGS: Final = 10


class InputModel(BaseModel):
    """Common configuration of input payloads: frozen, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: EventId
    occurred_at: Timestamp


class PurchaseItem(BaseModel):
    """One line of a purchase: ``quantity * unit_price`` counts for sku/category rules."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sku: Sku
    category: Name | None = None
    quantity: Quantity
    unit_price: Amount


class Purchase(InputModel):
    """A completed purchase by a customer."""

    customer_id: CustomerId
    order_id: OrderId
    amount: Amount
    currency: Currency
    channel: Channel
    store_id: StoreId | None = None
    items: tuple[PurchaseItem, ...] | None = Field(default=None, max_length=MAX_ITEMS)


class AppInstall(InputModel):
    """A customer installed an app (``telegram-bot``, ``mobile-app``, ...)."""

    customer_id: CustomerId
    app: Name
    platform: Name | None = None


class RedemptionRequest(InputModel):
    """Pay part of an order with points: all or nothing."""

    customer_id: CustomerId
    order_id: OrderId
    points: Points


class Refund(InputModel):
    """An order was refunded, wholly or (with ``amount``) partly."""

    customer_id: CustomerId
    order_id: OrderId
    amount: Amount | None = None


def nominal_seconds(duration: Duration) -> int:
    """A duration's length counting 30-day months and 24-hour days, to order durations."""
    return duration.months * 30 * 86_400 + duration.days * 86_400 + duration.seconds


class CampaignLaunch(InputModel):
    """Grant ``points`` to every known customer of ``segment``, valid for a while or until."""

    campaign_id: CampaignId
    segment: Name
    points: Points
    valid_for: DurationValue | None = None
    expires_at: Timestamp | None = None
    warn_before: tuple[DurationValue, ...] = Field(default=(), max_length=MAX_WARNINGS)

    @field_validator("warn_before", mode="after")
    @classmethod
    def _longest_lead_first(cls, leads: tuple[Duration, ...]) -> tuple[Duration, ...]:
        # A repeated lead would warn once anyway; a canonical order keeps equality simple.
        return tuple(sorted(set(leads), key=nominal_seconds, reverse=True))

    @model_validator(mode="after")
    def _one_deadline(self) -> Self:
        if (self.valid_for is None) == (self.expires_at is None):
            code = ErrorCode.MISSING_FIELD if self.valid_for is None else ErrorCode.INVALID_VALUE
            raise PydanticCustomError(
                code.value, "give exactly one of valid_for (a duration) or expires_at (a time)"
            )
        if self.expires_at is not None and self.expires_at <= self.occurred_at:
            raise PydanticCustomError(
                ErrorCode.INVALID_VALUE.value, "expires_at must be later than occurred_at"
            )
        if self.valid_for is not None:
            for lead in self.warn_before:
                if nominal_seconds(lead) >= nominal_seconds(self.valid_for):
                    raise PydanticCustomError(
                        ErrorCode.INVALID_VALUE.value,
                        "warn_before {lead} is not shorter than valid_for {valid_for}",
                        {"lead": str(lead), "valid_for": str(self.valid_for)},
                    )
        return self


InputEvent = Purchase | AppInstall | RedemptionRequest | Refund | CampaignLaunch
"""Any input payload."""
