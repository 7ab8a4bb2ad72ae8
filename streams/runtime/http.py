"""The HTTP API of a worker, as plain handlers: ``GET /customers/{id}``, ``/metrics``, ``/healthz``.

Each returns an :class:`HttpReply`; the host (faust's web server) only turns it into a response.
A customer is read from Redis whichever worker is asked: every worker can read every shard.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from schemas import format_time
from streams.clock import Clock
from streams.ledger import CustomerView, Ledger, LotView
from streams.runtime.ownership import Ownership

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A status, a content type and a body."""

    status: int
    content_type: str
    body: bytes


def json_reply(status: int, value: Any) -> HttpReply:
    """``value`` as a JSON reply."""
    return HttpReply(status, JSON, json.dumps(value, separators=(",", ":")).encode())


def _lot(lot: LotView) -> dict[str, Any]:
    return {
        "lot_id": lot.lot_id,
        "points": lot.points,
        "status": lot.status,
        "rule_id": lot.rule_id,
        "campaign_id": lot.campaign_id,
        "issued_at": format_time(lot.issued_at),
        "activates_at": format_time(lot.activates_at),
        "expires_at": format_time(lot.expires_at),
    }


def customer_json(view: CustomerView) -> dict[str, Any]:
    """The BalanceSnapshot fields of a customer, its active and pending lots, and its totals."""
    next_expiry = None
    if view.next_expiry is not None:
        points, at = view.next_expiry
        next_expiry = {"points": points, "at": format_time(at)}
    return {
        "customer_id": view.customer_id,
        "balance": view.balance,
        "pending": view.pending,
        "next_expiry": next_expiry,
        "updated_at": format_time(view.updated_at),
        "version": view.version,
        "lots": [_lot(lot) for lot in view.lots],
        "totals": view.totals,
    }


async def customer_reply(ledger: Ledger, clock: Clock, customer_id: str) -> HttpReply:
    """200 with the customer, or 404 when the ledger has never seen it."""
    view = await ledger.customer_view(customer_id, clock.now())
    if view is None:
        return json_reply(404, {"error": "unknown customer", "customer_id": customer_id})
    return json_reply(200, customer_json(view))


def metrics_reply(registry: CollectorRegistry) -> HttpReply:
    """The registry in Prometheus text format."""
    return HttpReply(200, CONTENT_TYPE_LATEST, generate_latest(registry))


def health_reply(ownership: Ownership, consuming: Callable[[], bool]) -> HttpReply:
    """200 when consuming with an assignment (maybe empty) in place; 503 otherwise."""
    ready = consuming() and ownership.assignment_done and not ownership.rebalancing
    body = {
        "status": "ok" if ready else "unavailable",
        "consuming": consuming(),
        "assignment_done": ownership.assignment_done,
        "rebalancing": ownership.rebalancing,
        "owned_partitions": sorted(ownership.owned),
    }
    return json_reply(200 if ready else 503, body)
