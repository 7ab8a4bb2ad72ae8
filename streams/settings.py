"""One typed settings object for every ``BONUS_*`` variable, and the librdkafka config it implies.

Settings are read once at start. A bad value refuses the start with every problem listed
(``SettingsError``), never a half-configured worker.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from schemas.durations import Duration, DurationField
from schemas.errors import BonusError
from schemas.topics import DEFAULT_TOPIC_PREFIX
from streams.failpoints import parse_failpoints
from streams.limits import MAX_RECORD_FIELDS
from streams.masking import mask_url

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
    # True: BONUS_REDIS_URL names any node of a Redis Cluster (README "Redis Cluster").
    redis_cluster: bool = False
    consumer_group: str = Field(default="bonus-workers", min_length=1, max_length=200)
    partitions: int = Field(default=12, ge=1, le=10_000)
    replication_factor: int = Field(default=1, ge=1, le=10)
    log_level: str = "INFO"
    # Bounds (README "Limits"): a customer record's fields, a shard's outbox backlog.
    max_record_fields: int = Field(default=MAX_RECORD_FIELDS, ge=16, le=1_000_000)
    outbox_backlog_limit: int = Field(default=100_000, ge=100, le=100_000_000)

    # Security (README "Security"): SASL and TLS towards Kafka; Redis ACL user and TLS come
    # from a rediss://user:password@host URL, its CA from redis_ssl_ca_file.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: Path | None = None
    redis_ssl_ca_file: Path | None = None

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

    @field_validator("kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _security(self) -> Settings:
        # One error carrying one line per problem: load_settings lists them one by one.
        problems = security_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def kafka_uses_sasl(self) -> bool:
        """Whether Kafka clients authenticate with SASL."""
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def kafka_uses_tls(self) -> bool:
        """Whether the connections to Kafka are TLS."""
        return self.kafka_security_protocol.endswith("SSL")

    def kafka_config(self, **extra: Any) -> dict[str, Any]:
        """The librdkafka configuration every client of this project starts from.

        ``murmur2_random`` is Kafka's Java partitioner, so that producers put a customer on the
        partition (shard) the ledger expects. The SASL password goes in here and nowhere else:
        never log this dict.
        """
        config: dict[str, Any] = {
            "bootstrap.servers": self.kafka_bootstrap,
            "partitioner": "murmur2_random",
            "client.id": "bonus-streams",
            "security.protocol": self.kafka_security_protocol.lower(),
        }
        if self.kafka_uses_sasl and self.kafka_sasl_password is not None:
            config["sasl.mechanisms"] = self.kafka_sasl_mechanism
            config["sasl.username"] = self.kafka_sasl_username
            config["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_uses_tls:
            # "probe": the system's CA bundle, which librdkafka's wheels do not find by default.
            ca = self.kafka_ssl_ca_file
            config["ssl.ca.location"] = str(ca) if ca is not None else "probe"
        return {**config, **extra}

    def secret_values(self) -> list[str]:
        """The passwords in these settings, for the log filter that hides them."""
        found = [self.kafka_sasl_password.get_secret_value()] if self.kafka_sasl_password else []
        password = urlsplit(self.redis_url).password
        if password:
            found += [password, unquote(password)]
        return found

    def __repr_args__(self) -> Any:
        """The fields, with the Redis password masked (the Kafka one is a SecretStr already)."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "redis_url" else value


def security_problems(settings: Settings) -> list[str]:
    """Every inconsistent security setting, one line each, naming the variables."""
    problems: list[str] = []
    protocol = settings.kafka_security_protocol
    sasl = settings.kafka_uses_sasl
    if sasl and not settings.kafka_sasl_username:
        problems.append(f"BONUS_KAFKA_SASL_USERNAME: required with {protocol}")
    password = settings.kafka_sasl_password
    if sasl and not (password and password.get_secret_value()):
        problems.append(f"BONUS_KAFKA_SASL_PASSWORD: required with {protocol}")
    if not sasl and (settings.kafka_sasl_username or settings.kafka_sasl_password):
        problems.append(
            f"BONUS_KAFKA_SASL_USERNAME/PASSWORD: set, but {protocol} does not authenticate "
            "(use SASL_SSL)"
        )
    if protocol == "SASL_PLAINTEXT" and settings.kafka_sasl_mechanism == "PLAIN":
        problems.append(
            "BONUS_KAFKA_SASL_MECHANISM: PLAIN over SASL_PLAINTEXT sends the password in clear "
            "(use SASL_SSL, or SCRAM)"
        )
    ca_files = [("BONUS_KAFKA_SSL_CA_FILE", settings.kafka_ssl_ca_file, settings.kafka_uses_tls)]
    rediss = urlsplit(settings.redis_url).scheme == "rediss"
    ca_files.append(("BONUS_REDIS_SSL_CA_FILE", settings.redis_ssl_ca_file, rediss))
    for name, path, tls in ca_files:
        if path is not None and not tls:
            problems.append(f"{name}: set, but the connection it is for is not TLS")
        elif path is not None and not path.is_file():
            problems.append(f"{name}: no such file: {path}")
    return problems


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus ``overrides``); raise SettingsError listing every problem."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            if not item["loc"]:  # the security check: its lines name their variables
                problems += str(item["msg"]).removeprefix("Value error, ").splitlines()
                continue
            name = "BONUS_" + "_".join(str(part) for part in item["loc"]).upper()
            problems.append(f"{name}: {item['msg']} (got {_shown(name, item.get('input'))})")
        raise SettingsError(problems) from None


def _shown(name: str, value: Any) -> str:
    """A bad value as the error shows it: never a password."""
    if "PASSWORD" in name:
        return "'***'"
    if name == "BONUS_REDIS_URL" and isinstance(value, str):
        return repr(mask_url(value))
    return repr(value)
