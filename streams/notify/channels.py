"""Where messages go: ``log`` (one structured log line each) or ``webhook`` (POST JSON).

A channel either delivers a message or raises ``NotifyDeliveryError``; the service then leaves the
Kafka offset uncommitted (or the held warning in Redis) and tries again later.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from schemas import ExpiryWarning, format_time
from schemas.errors import BonusError

MESSAGES_LOGGER: Final = "streams.notify.messages"
log = logging.getLogger(__name__)


class NotifyDeliveryError(BonusError):
    """A channel could not deliver a message (after its own retries)."""


@dataclass(frozen=True, slots=True)
class Notification:
    """A rendered message for one customer, with the warning it comes from."""

    text: str
    warning: ExpiryWarning

    def as_json(self) -> dict[str, Any]:
        """The message as a JSON object (what the webhook receives, what the log line shows)."""
        warning = self.warning
        return {
            "event_id": warning.event_id,
            "customer_id": warning.customer_id,
            "message": self.text,
            "points_expiring": warning.points_expiring,
            "expires_at": format_time(warning.expires_at),
            "lead": str(warning.lead),
            "balance": warning.balance,
        }


class Channel(Protocol):
    """Delivers one message or raises NotifyDeliveryError."""

    name: str

    def deliver(self, notification: Notification) -> None:
        """Deliver ``notification``."""
        ...


class LogChannel:
    """One JSON log line per message on logger ``streams.notify.messages``."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(MESSAGES_LOGGER)

    def deliver(self, notification: Notification) -> None:
        """Log the message; ``extra["notification"]`` carries the same object for handlers."""
        body = notification.as_json()
        self._log.info(
            "%s",
            json.dumps(body, ensure_ascii=False, sort_keys=True),
            extra={"notification": body},
        )


Sleep = Callable[[float], None]


class WebhookChannel:
    """POST each message as JSON to ``url``; retry non-2xx and network errors with backoff."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Sleep = time.sleep,
    ) -> None:
        if urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError(f"webhook URL {url!r}: give an http:// or https:// URL")
        if attempts < 1 or timeout <= 0 or backoff < 0:
            raise ValueError("webhook: attempts >= 1, timeout > 0, backoff >= 0")
        self._url = url
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep

    def deliver(self, notification: Notification) -> None:
        """POST the message; NotifyDeliveryError after ``attempts`` failures (real-time backoff)."""
        body = json.dumps(notification.as_json(), ensure_ascii=False).encode("utf-8")
        event_id = notification.warning.event_id
        problem = ""
        for attempt in range(1, self._attempts + 1):
            problem = self._post(body, event_id)
            if not problem:
                return
            log.warning(
                "webhook attempt %s/%s for %s failed: %s",
                attempt,
                self._attempts,
                event_id,
                problem,
            )
            if attempt < self._attempts:
                # Backoff is about the receiver, so real time, not the service clock.
                self._sleep(self._backoff * 2 ** (attempt - 1))
        tries = self._attempts
        raise NotifyDeliveryError(f"webhook {self._url}: {problem} (after {tries} attempts)")

    def _post(self, body: bytes, event_id: str) -> str:
        """An empty string on a 2xx answer, otherwise what went wrong."""
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                # Lets the receiver drop a repeat after a crash between delivery and record.
                "Idempotency-Key": event_id,
                "User-Agent": "bonus-notify/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310
                status = int(answer.status)
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}"
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            return f"{type(error).__name__}: {error}"
        return "" if 200 <= status < 300 else f"HTTP {status}"
