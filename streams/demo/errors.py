"""The demo's own error: something it needs is missing (topics, a reachable broker)."""

from __future__ import annotations

from schemas.errors import BonusError


class DemoError(BonusError):
    """The demo cannot run; the message says what to do."""
