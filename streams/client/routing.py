"""Where an input event goes: its topic, its key and its CloudEvents type (pure, no I/O).

A dict (or JSON bytes) is validated with the contract's model of the named topic first, so a
backend learns about a bad event from an exception, not from the dead-letter topic later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from pydantic import ValidationError

from schemas import (
    CATALOG,
    AppInstall,
    CampaignLaunch,
    InputEvent,
    Purchase,
    RedemptionRequest,
    Refund,
    Topic,
    decode_input,
)
from schemas.decode import invalid_from

_MODELS: Final = MappingProxyType(
    {
        Purchase: Topic.PURCHASES,
        AppInstall: Topic.APP_INSTALLS,
        RedemptionRequest: Topic.REDEMPTIONS,
        Refund: Topic.REFUNDS,
        CampaignLaunch: Topic.CAMPAIGNS,
    }
)

CE_TYPES: Final = MappingProxyType(
    {
        Topic.PURCHASES: "bonus.purchase",
        Topic.APP_INSTALLS: "bonus.app_install",
        Topic.REDEMPTIONS: "bonus.redemption_request",
        Topic.REFUNDS: "bonus.refund",
        Topic.CAMPAIGNS: "bonus.campaign_launch",
    }
)
"""CloudEvents ``ce_type`` of each input topic (the contract fixes only the outputs' types)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where an event goes: topic (without prefix), key and CloudEvents type."""

    topic: Topic
    key: str
    ce_type: str


def validate_input(
    event: InputEvent | Mapping[str, Any] | bytes, topic: Topic | None = None
) -> InputEvent:
    """``event`` as a validated input model; raise ``InvalidEvent`` (code, every problem).

    A model is taken as is; a mapping or JSON bytes needs ``topic`` to pick the model.
    """
    if isinstance(event, (Purchase, AppInstall, RedemptionRequest, Refund, CampaignLaunch)):
        model_topic = _MODELS[type(event)]
        if topic is not None and topic != model_topic:
            raise ValueError(f"a {type(event).__name__} goes to {model_topic}, not {topic}")
        return event
    if topic is None:
        raise ValueError("give topic= (e.g. Topic.PURCHASES) to send a dict or JSON bytes")
    spec = CATALOG[topic]
    if spec.direction != "in":
        raise ValueError(f"{topic} is an output topic; only inputs can be sent")
    if isinstance(event, bytes):
        return decode_input(topic, event)
    if not isinstance(event, Mapping):
        raise TypeError(f"cannot send a {type(event).__name__}; give a model, a dict or bytes")
    try:
        validated = spec.models[0].model_validate(dict(event))
    except ValidationError as error:
        raise invalid_from(error) from None
    assert isinstance(validated, InputEvent)  # noqa: S101 - the catalog maps inputs to inputs
    return validated


def route_for(event: InputEvent) -> Route:
    """The topic, key (``customer_id``, or ``campaign_id`` for a launch) and type of ``event``."""
    topic = _MODELS[type(event)]
    key = event.campaign_id if isinstance(event, CampaignLaunch) else event.customer_id
    return Route(topic, key, CE_TYPES[topic])
