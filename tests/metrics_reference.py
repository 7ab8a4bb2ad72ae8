"""A reference for the metrics: what the MetricsWindow counters must add up to, computed from
the ledger's output events (contract payloads as JSON dicts) in the order they happened.

Points taken from a lot count for the lot's rule or campaign (known from its BonusAccrued);
``redeemed_after_warning_points`` are points redeemed from lots an earlier ExpiryWarning
covered; clawed back points are those actually taken back (``points - points_unrecovered``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FIELDS = (
    "accrued_points",
    "accrued_lots",
    "redeemed_points",
    "burned_points",
    "clawed_back_points",
    "warnings",
    "warned_points",
    "redeemed_after_warning_points",
)


def dimension_of(event: dict[str, Any]) -> str:
    """``rule:<id>`` or ``campaign:<id>`` of an event that names its origin."""
    if event.get("rule_id"):
        return f"rule:{event['rule_id']}"
    return f"campaign:{event['campaign_id']}"


def reference_totals(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per dimension (and ``all``), the sums of every measure but active customers."""
    totals: dict[str, dict[str, int]] = {}
    lots: dict[str, str] = {}
    warned: set[str] = set()

    def add(dimension: str, name: str, n: int) -> None:
        for dim in ("all", dimension):
            totals.setdefault(dim, dict.fromkeys(FIELDS, 0))[name] += n

    for event in events:
        kind = event.get("type")
        if kind == "bonus.accrued":
            lots[event["lot_id"]] = dimension_of(event)
            add(dimension_of(event), "accrued_points", event["points"])
            add(dimension_of(event), "accrued_lots", 1)
        elif kind == "bonus.burned":
            add(dimension_of(event), "burned_points", event["points"])
        elif kind == "bonus.clawed_back":
            taken = event["points"] - event["points_unrecovered"]
            add(lots[event["lot_id"]], "clawed_back_points", taken)
        elif kind == "bonus.redemption" and event["status"] == "accepted":
            for lot in event["lots"]:
                add(lots[lot["lot_id"]], "redeemed_points", lot["points"])
                if lot["lot_id"] in warned:
                    add(lots[lot["lot_id"]], "redeemed_after_warning_points", lot["points"])
        elif kind == "bonus.expiry_warning":
            totals.setdefault("all", dict.fromkeys(FIELDS, 0))["warnings"] += 1
            dims = set()
            for lot in event["lots"]:
                warned.add(lot["lot_id"])
                dim = lots[lot["lot_id"]]
                dims.add(dim)
                for d in ("all", dim):
                    totals.setdefault(d, dict.fromkeys(FIELDS, 0))["warned_points"] += lot["points"]
            for dim in dims:
                totals[dim]["warnings"] += 1
    return totals


def without_active(totals: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Totals with only the reference's fields (drops ``active_customers``)."""
    return {dim: {k: row[k] for k in FIELDS} for dim, row in totals.items()}
