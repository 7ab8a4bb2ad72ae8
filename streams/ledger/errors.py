"""The ledger's errors: one hierarchy under :class:`schemas.errors.BonusError`.

A bad input event is never an error here: it is an outcome (``Conflict``) the worker
dead-letters. These are failures of the state change itself, which must not be swallowed: the
worker stops committing offsets and the event is retried.
"""

from __future__ import annotations

from schemas.errors import BonusError


class LedgerError(BonusError):
    """Base of every ledger failure."""


class LedgerNotStartedError(LedgerError):
    """A ledger method was called before ``await ledger.start()``."""


class StaleVersionError(LedgerError):
    """The customer's version kept moving under us: another writer is busy with the customer."""


class ScriptError(LedgerError):
    """A ledger script refused its request (a bug: Python sent something Lua cannot apply)."""


class UnexpectedReplyError(LedgerError):
    """A script answered something the adapter does not understand."""
