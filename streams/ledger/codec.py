"""Conversions between Python values and what the Lua scripts read: epoch ms, JSON requests,
payload digests, lot plans. Integers only: exact decimal math stays in Python."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from streams.core.model import LotPlan

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (sub-millisecond digits are dropped)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not accepted")
    return (moment - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return _EPOCH + timedelta(milliseconds=ms)


def digest(event: BaseModel) -> str:
    """A digest of the event's canonical payload (validated fields only, sorted keys)."""
    canonical = json.dumps(
        event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def origin_of(plan: LotPlan) -> str:
    """The interned-name form of a lot's origin."""
    if plan.rule_id is not None:
        return f"r:{plan.rule_id}"
    if plan.campaign_id is not None:
        return f"c:{plan.campaign_id}"
    raise ValueError("a lot comes from a rule or a campaign")


def plan_request(plan: LotPlan) -> dict[str, Any]:
    """A lot plan as the scripts read it."""
    request: dict[str, Any] = {
        "id": plan.lot_id,
        "origin": origin_of(plan),
        "pts": plan.points,
        "iss": to_ms(plan.issued_at),
        "act": to_ms(plan.activates_at),
        "exp": to_ms(plan.expires_at),
        "w": [[f"d:{w.lead}", to_ms(w.due_at), to_ms(w.coalesce_until)] for w in plan.warnings],
        "once": plan.once_per_customer,
    }
    if plan.cap is not None:
        request["cap"] = [plan.cap.max_points, to_ms(plan.cap.window_start)]
    return request


def encode_request(request: dict[str, Any]) -> str:
    """JSON for ARGV[1]; ``None`` values are left out (cjson would make them truthy)."""
    return json.dumps({k: v for k, v in request.items() if v is not None}, separators=(",", ":"))


def decode_reply(reply: Any) -> dict[str, Any]:
    """A script's JSON reply as a dict."""
    text = reply.decode("utf-8") if isinstance(reply, bytes) else str(reply)
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"a ledger script replied {text[:100]!r}")
    return value


def text(value: Any) -> str:
    """A Redis reply value (bytes or str) as str."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def pairs(value: Any) -> list[Any]:
    """A JSON list from Lua; cjson turns an empty table into ``{}``."""
    return value if isinstance(value, list) else []
