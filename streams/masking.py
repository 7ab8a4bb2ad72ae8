"""Secrets as operators may see them: URLs with the password masked, settings without passwords.

Everything that writes a setting to a log, an error message or ``bonus settings`` goes through
here, so that a password given in ``BONUS_REDIS_URL`` or ``BONUS_KAFKA_SASL_PASSWORD`` is never
printed (README "Security").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (``rediss://bonus:***@host:6380/0``).

    A URL that cannot be parsed is masked whole rather than risk showing a password.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    user, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    name, colon, _ = user.partition(":")
    # "redis://secret@host" (no colon) is a password-only form for some clients: mask it all.
    netloc = f"{name}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def shown(value: object) -> str:
    """A setting's value as ``bonus settings`` prints it: secrets masked, URLs without passwords."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return "" if value is None else str(value)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``.

    For text we did not write ourselves (a client library's exception message) that may echo a
    URL or a credential back.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class Redact(logging.Filter):
    """A log filter that replaces each of ``secrets`` by ``***`` in messages and tracebacks.

    The last line of defence: our own messages never carry a secret, but a library's exception
    text might echo one back.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        return True
