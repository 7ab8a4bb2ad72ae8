"""Structured logs: one JSON object per line when stderr is not a terminal, plain text when it is.

Messages keep lazy ``%`` formatting (``log.info("burned %s", lot_id)``); the JSON line carries
the rendered message, the logger, the level and the real time of the record.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        """``{"time", "level", "logger", "message", ...}``; exceptions as ``exc_info`` text."""
        line: dict[str, Any] = {
            # The record's own real time, in UTC; the service clock is for the ledger.
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            # exc_text first: the secret-redacting filter leaves the cleaned traceback there.
            line["exc_info"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def wants_json(stream: TextIO) -> bool:
    """JSON unless ``stream`` is a terminal (a person reads it)."""
    try:
        return not stream.isatty()
    except (AttributeError, ValueError):
        return True


def logging_config(
    level: str, stream: TextIO | None = None, secrets: Sequence[str] = ()
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the process (also handed to faust's worker).

    ``secrets`` (passwords) are replaced by ``***`` in every record (``streams.masking.Redact``).
    """
    use_json = wants_json(stream or sys.stderr)
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if use_json else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"redact": {"()": "streams.masking.Redact", "secrets": list(secrets)}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure_logging(level: str, secrets: Sequence[str] = ()) -> None:
    """Configure the root logger for this process (``secrets`` never shown)."""
    import logging.config  # noqa: PLC0415 - only the worker process configures logging

    logging.config.dictConfig(logging_config(level, secrets=secrets))
