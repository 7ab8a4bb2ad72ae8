"""One typed settings object for every ``BONUS_*`` variable, and the librdkafka config it implies.

Settings are read once at start. A bad value refuses the start with every problem listed
(``SettingsError``), never a half-configured worker.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from schemas.durations import Duration, DurationField
from schemas.errors import BonusError
from schemas.topics import DEFAULT_TOPIC_PREFIX
from streams.failpoints import parse_failpoints

_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]{0,100}$")


class SettingsError(BonusError):
    """Settings that cannot run a worker; ``problems`` names every bad variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  {p}" for p in problems))


class Settings(BaseSettings):
    """Every setting of a worker, from ``BONUS_*`` environment variables (contract names)."""

    # An empty variable (``BONUS_CLOCK_START=``) means "not set", as in most shells' habits.
    model_config = SettingsConfigDict(
        env_prefix="BONUS_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    kafka_bootstrap: str = "localhost:9092"
    redis_url: str = "redis://localhost:6379/0"
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    rules_file: Path | None = None
    web_port: int = Field(default=6066, ge=0, le=65535)
    # NoDecode: a duration is ISO 8601 text, not JSON for pydantic-settings to parse.
    metrics_window: Annotated[DurationField, NoDecode] = Duration(seconds=3600)
    clock_start: datetime | None = None
    clock_speed: float = Field(default=1.0, gt=0, le=1_000_000)
    clock_anchor: float | None = None

    # Beyond the contract: names this deployment chooses.
    redis_key_prefix: str = Field(default="bonus:", min_length=1, max_length=64)
    consumer_group: str = Field(default="bonus-workers", min_length=1, max_length=200)
    partitions: int = Field(default=12, ge=1, le=10_000)
    replication_factor: int = Field(default=1, ge=1, le=10)
    log_level: str = "INFO"
    # Test-only (the fault suite): armed failpoints, "name=probability,..." (streams.failpoints).
    # Empty, the default, arms none and costs nothing.
    failpoints: str = ""

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        servers = [part.strip() for part in value.split(",") if part.strip()]
        if not servers or any(":" not in server for server in servers):
            raise ValueError("give host:port[,host:port...], e.g. localhost:9092")
        return ",".join(servers)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("give a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        if not _TOPIC_PREFIX.match(value):
            raise ValueError("use letters, digits, '.', '_' and '-' only (Kafka topic names)")
        return value

    @field_validator("clock_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give an explicit offset, e.g. 2026-12-01T00:00:00Z")
        return value

    @field_validator("failpoints")
    @classmethod
    def _failpoints(cls, value: str) -> str:
        parse_failpoints(value)
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def kafka_config(self, **extra: Any) -> dict[str, Any]:
        """The librdkafka configuration every client of this project starts from.

        ``murmur2_random`` is Kafka's Java partitioner, so that producers put a customer on the
        partition (shard) the ledger expects.
        """
        return {
            "bootstrap.servers": self.kafka_bootstrap,
            "partitioner": "murmur2_random",
            "client.id": "bonus-streams",
            **extra,
        }


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus ``overrides``); raise SettingsError listing every problem."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = "BONUS_" + "_".join(str(part) for part in item["loc"]).upper()
            problems.append(f"{name}: {item['msg']} (got {item.get('input')!r})")
        raise SettingsError(problems) from None
