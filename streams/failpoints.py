"""Failpoints: named places where a TEST makes a worker crash or a ledger script fail.

Test-only and off by default. ``BONUS_FAILPOINTS`` lists ``name=probability`` pairs, e.g.
``relay.after_produce=0.05,lua.before_write=0.2``; every pass through a named place then fails
with that probability (fresh randomness per process, so that a restarted worker does not crash
at the same step forever). With the variable unset there is nothing to check: the callers hold
``None`` and skip the hook with one comparison.

The places (see the fault suite, ``tests/faults``):
* ``relay.after_produce``: the relay delivered a batch and crashes (SIGKILL) before the trim;
* ``timers.after_fire``: the timer loop fired a batch of customers and crashes before the
  relay was told, with the rest of the due customers still waiting;
* ``lua.before_write``: an input's script fails after validating and computing everything,
  just before its first write; Redis keeps nothing of it and the worker retries the message.
"""

from __future__ import annotations

import logging
import os
import random
import signal
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RELAY_AFTER_PRODUCE = "relay.after_produce"
TIMERS_AFTER_FIRE = "timers.after_fire"
LUA_BEFORE_WRITE = "lua.before_write"
NAMES = (RELAY_AFTER_PRODUCE, TIMERS_AFTER_FIRE, LUA_BEFORE_WRITE)


def parse_failpoints(spec: str) -> dict[str, float]:
    """``name=probability,...`` as a dict; ValueError names what is wrong."""
    points: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if name not in NAMES:
            raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(NAMES)}")
        try:
            probability = float(value) if sep else 1.0
        except ValueError:
            raise ValueError(f"failpoint {name}: {value!r} is not a probability") from None
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"failpoint {name}: probability must be within 0..1")
        points[name] = probability
    return points


@dataclass
class Failpoints:
    """The armed failpoints of one process."""

    points: dict[str, float]
    _random: random.Random = field(default_factory=random.SystemRandom)

    @classmethod
    def from_spec(cls, spec: str) -> Failpoints | None:
        """The failpoints of ``spec``; None when it arms none (the normal case)."""
        points = parse_failpoints(spec)
        return cls(points) if points else None

    def hit(self, name: str) -> bool:
        """Whether the failpoint ``name`` fails on this pass."""
        probability = self.points.get(name, 0.0)
        return probability > 0 and self._random.random() < probability

    def crash(self, name: str) -> None:
        """Die at once, like kill -9, when ``name`` fails on this pass."""
        if self.hit(name):
            log.warning("failpoint %s: crashing (SIGKILL)", name)
            os.kill(os.getpid(), signal.SIGKILL)
