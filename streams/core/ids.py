"""Deterministic ids: the same input always yields the same lot id and output event ids.

A replayed or duplicated input must produce byte-identical outputs, so that consumers (and the
ledger's own idempotency) can drop the repeat; ids therefore derive from the inputs only.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Final

# Source kinds: the input topic names without the configurable prefix.
SOURCE_PURCHASES: Final = "purchases"
SOURCE_APP_INSTALLS: Final = "app-installs"
SOURCE_CAMPAIGNS: Final = "campaigns"


def short_hash(*parts: str, size: int = 15) -> str:
    """``size * 8 / 5`` lowercase base32 characters of blake2b identifying ``parts``: 24 (120
    bits) by default, 16 (80 bits) with ``size=10``; ``size`` must be a multiple of 5.

    The parts are JSON-encoded as a list, so ("a", "bc") and ("ab", "c") never collide.
    """
    if size <= 0 or size % 5:
        raise ValueError("size must be a positive multiple of 5 bytes (no base32 padding)")
    encoded = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":")).encode()
    digest = hashlib.blake2b(encoded, digest_size=size).digest()
    return base64.b32encode(digest).decode("ascii").lower()


def lot_id(
    source: str,
    event_id: str,
    *,
    rule_id: str | None = None,
    campaign_id: str | None = None,
    customer_id: str | None = None,
) -> str:
    """The id of the lot that ``rule_id`` (or ``campaign_id``) grants for one source event.

    A campaign launch grants one lot per customer from a single event, so its lots also carry
    the ``customer_id``; a purchase or install already belongs to one customer.

    16 base32 characters (80 bits): every outstanding lot keeps its id in Redis, so the id is
    short; a collision among even 10^9 lots has a probability below 10^-6.
    """
    if (rule_id is None) == (campaign_id is None):
        raise ValueError("a lot comes from exactly one of a rule or a campaign")
    origin = f"rule:{rule_id}" if rule_id is not None else f"campaign:{campaign_id}"
    parts = [source, event_id, origin]
    if customer_id is not None:
        parts.append(customer_id)
    return short_hash(*parts, size=10)


def output_event_id(kind: str, *parts: str) -> str:
    """A deterministic output ``event_id``: ``kind`` (e.g. ``accrued``) and a hash of ``parts``.

    ``parts`` must identify the state change uniquely, e.g. ("accrued", lot_id) or
    ("warning", customer_id, lead, trigger_lot_id); the result is at most ~60 characters.
    """
    return f"{kind}-{short_hash(kind, *parts)}"
