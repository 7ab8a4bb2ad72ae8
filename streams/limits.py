"""Limits shared by the settings and the ledger, in a module that imports nothing of the project
(the settings are read before the ledger exists)."""

from __future__ import annotations

# The most fields a customer record may reach through an accrual (lots, orders and ~5
# per-customer fields; see "Limits" in streams/ledger/keys.py). Every script reads the record,
# so this bounds the Redis time one event of a customer costs. The cold tier keeps records far
# below it; what cannot go cold (capped lots, actions due within 15 minutes) can still reach it,
# and an accrual past it is refused with ``lot_limit`` (dead-lettered, never dropped silently).
MAX_RECORD_FIELDS = 1000
