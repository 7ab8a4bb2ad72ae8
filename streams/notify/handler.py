"""What happens to one expiry warning: drop a repeat, skip a dead one, hold it, or deliver it.

No Kafka here: the handler answers whether the message may be committed, and the service loop
commits or rewinds. The store is anything with ``NotifyStore``'s methods (Redis in production,
a dict in unit tests).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from schemas import ExpiryWarning, InvalidEvent, decode_output, to_json_bytes
from streams.clock import Clock
from streams.notify.channels import Channel, Notification, NotifyDeliveryError
from streams.notify.quiet import Action, QuietHours, decide
from streams.notify.store import Held
from streams.notify.template import DEFAULT_TEMPLATE, check_template, render

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NotifyOptions:
    """How one notifier behaves; times in real seconds unless said otherwise."""

    group: str = "bonus-notify"
    template: str = DEFAULT_TEMPLATE
    zone: tzinfo = UTC
    quiet: QuietHours | None = None
    retry_pause: float = 5.0
    """After a failed delivery, wait this long before the message is tried again."""
    release_every: float = 0.25
    """How often the held queue is scanned for warnings that are due."""
    lease: float = 60.0
    """How long a claimed held warning is reserved for this notifier (then retried)."""
    poll_timeout: float = 0.25


class Store(Protocol):
    """Dedupe records and held warnings (see ``streams.notify.store.NotifyStore``)."""

    def was_sent(self, event_id: str) -> bool: ...
    def mark_sent(self, event_id: str) -> None: ...
    def hold(self, event_id: str, payload: bytes, release_ms: int) -> bool: ...
    def reschedule(self, event_id: str, release_ms: int) -> None: ...
    def claim_due(self, now_ms: int, lease_until_ms: int, limit: int = 100) -> list[Held]: ...
    def drop_held(self, event_id: str) -> None: ...


class Handler:
    """Turns warnings into delivered messages, once each, outside quiet hours."""

    def __init__(
        self, options: NotifyOptions, channel: Channel, store: Store, clock: Clock
    ) -> None:
        check_template(options.template, options.zone)
        self._options = options
        self._channel = channel
        self._store = store
        self._clock = clock
        self.counts: Counter[str] = Counter()

    def on_message(self, raw: bytes) -> bool:
        """Handle one message; True when its offset may be committed, False to retry it."""
        warning = parse_warning(raw)
        if warning is None:
            # Not ours to fix, and retrying cannot help: commit past it.
            self.counts["invalid"] += 1
            log.error("not an expiry warning: %r", raw[:200])
            return True
        if self._store.was_sent(warning.event_id):
            self.counts["duplicate"] += 1
            log.info("repeat of %s dropped", warning.event_id)
            return True
        decision = decide(self._clock.now(), warning.expires_at, self._options.quiet)
        if decision.action is Action.SKIP:
            self._skip(warning, decision.reason)
            return True
        if decision.action is Action.HOLD and decision.until is not None:
            self._store.hold(warning.event_id, to_json_bytes(warning), _ms(decision.until))
            self.counts["held"] += 1
            log.info("held %s until %s (%s)", warning.event_id, decision.until, decision.reason)
            return True
        return self._deliver(warning)

    def release_due(self) -> int:
        """Deliver held warnings whose time has come; return how many were sent."""
        now_ms = self._clock.now_ms()
        lease_ms = int(self._options.lease / self._clock.real_seconds(1.0) * 1000)
        sent = 0
        for held in self._store.claim_due(now_ms, now_ms + lease_ms):
            warning = parse_warning(held.payload) if held.payload is not None else None
            if warning is None or self._store.was_sent(held.event_id):
                self._store.drop_held(held.event_id)
                continue
            decision = decide(self._clock.now(), warning.expires_at, self._options.quiet)
            if decision.action is Action.SKIP:
                self._skip(warning, decision.reason)
                self._store.drop_held(held.event_id)
            elif decision.action is Action.HOLD and decision.until is not None:
                self._store.reschedule(held.event_id, _ms(decision.until))
            elif self._deliver(warning):
                sent += 1
            # A failed delivery stays claimed until its lease ends, then is tried again.
        return sent

    def _deliver(self, warning: ExpiryWarning) -> bool:
        text = render(self._options.template, warning, self._options.zone)
        try:
            self._channel.deliver(Notification(text, warning))
        except NotifyDeliveryError as error:
            self.counts["failed"] += 1
            log.error("could not deliver %s: %s", warning.event_id, error)
            return False
        self._store.mark_sent(warning.event_id)
        self.counts["sent"] += 1
        return True

    def _skip(self, warning: ExpiryWarning, reason: str) -> None:
        self.counts["skipped"] += 1
        log.warning("not sending %s: %s", warning.event_id, reason)


def parse_warning(raw: bytes) -> ExpiryWarning | None:
    """``raw`` as an ExpiryWarning, or None if it is anything else."""
    try:
        event = decode_output(raw)
    except InvalidEvent:
        return None
    return event if isinstance(event, ExpiryWarning) else None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
