"""The Redis ledger: lots, balances, timers and the outbox, one atomic Lua script per change.

Key layout: :mod:`streams.ledger.keys`. Adapter: :class:`streams.ledger.ledger.Ledger`.
Outbox rendering for the relay: :func:`streams.ledger.outbox.render`.
"""

from streams.ledger.errors import (
    LedgerError,
    LedgerNotStartedError,
    ScriptError,
    StaleVersionError,
    UnexpectedReplyError,
)
from streams.ledger.ledger import Ledger
from streams.ledger.outbox import OutboxEntry, render
from streams.ledger.outcomes import (
    Accrued,
    CampaignRecorded,
    ClawedBack,
    Conflict,
    Duplicate,
    Fired,
    Ignored,
    LaunchOutcome,
    LotLimit,
    Outcome,
    Redeemed,
    UnknownSegment,
)
from streams.ledger.view import CustomerView, LotView

__all__ = [
    "Accrued",
    "CampaignRecorded",
    "ClawedBack",
    "Conflict",
    "CustomerView",
    "Duplicate",
    "Fired",
    "Ignored",
    "LaunchOutcome",
    "Ledger",
    "LedgerError",
    "LedgerNotStartedError",
    "LotLimit",
    "LotView",
    "OutboxEntry",
    "Outcome",
    "Redeemed",
    "ScriptError",
    "StaleVersionError",
    "UnexpectedReplyError",
    "UnknownSegment",
    "render",
]
