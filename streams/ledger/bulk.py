"""Importing one customer's purchase history through the real scripts, many per round trip.

A shop that moves to this engine, a measurement or a test may need a customer with a long
history (``deploy/measure_bounds.py`` builds one of 100,000 lots). One purchase at a time costs
a read and a script round trip each; here each script's read is predicted from the replies
before it instead (every applied purchase moves the version by one and the statistics as
:func:`streams.core.segments.apply_purchase` says), so a pipeline carries hundreds of them.
Each purchase is still one atomic, idempotent script, exactly as the worker applies it.

The prediction holds only while nothing else writes the customer: anything else (a ``stale``,
``conflict`` or duplicate reply, an order the customer already has) stops the import with
:class:`ImportStoppedError` naming the purchase, after which the purchases before it are applied
and a plain replay (``Ledger.apply``) of the rest is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from schemas.inputs import Purchase
from streams.core.segments import apply_purchase
from streams.ledger.batch import ScriptRun, run_scripts
from streams.ledger.codec import decode_reply, encode_request
from streams.ledger.errors import LedgerError

if TYPE_CHECKING:
    from streams.ledger.ledger import Ledger

PER_TRIP = 500


class ImportStoppedError(LedgerError):
    """A purchase of an import was not applied as predicted (see the module)."""


async def import_purchases(
    ledger: Ledger, purchases: Sequence[Purchase], now: datetime, per_trip: int = PER_TRIP
) -> int:
    """Apply ``purchases`` of ONE customer, in order, at service time ``now``, ``per_trip`` per
    round trip; each must be of an order the customer does not have yet. Returns the points
    accrued."""
    if not purchases:
        return 0
    customer = purchases[0].customer_id
    if any(p.customer_id != customer for p in purchases):
        raise ValueError("an import is of one customer's purchases")
    version, stats, _ = await ledger.read_stats(customer)
    points = 0
    for start in range(0, len(purchases), per_trip):
        chunk = purchases[start : start + per_trip]
        runs = []
        for event in chunk:
            call = ledger.call_for(event, now)
            request = call.build(version, stats, None)
            runs.append(ScriptRun(call.script, call.keys, [encode_request(request)]))
            stats = apply_purchase(stats, event)
            version += 1
        for event, reply in zip(chunk, await run_scripts(ledger, runs), strict=True):
            data = decode_reply(reply)
            if data["status"] != "applied":
                raise ImportStoppedError(
                    f"purchase {event.event_id} of {customer}: {data['status']} (expected applied)"
                )
            points += sum(int(p) for _, p in data["lots"])
    return points
