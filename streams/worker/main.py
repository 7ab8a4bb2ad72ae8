"""``bonus worker``: check everything, then run one worker of the consumer group.

Nothing is consumed before the settings, the rules file, the topics and Redis have been
checked; each check lists every problem it found, so that one start shows them all.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO
from urllib.parse import urlsplit

import redis
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._metadata import ClusterMetadata

from schemas import CATALOG, topic_name
from schemas.errors import BonusError
from streams.clock import clock_from_settings
from streams.masking import mask_url
from streams.redis_clients import REDIS_ERRORS, sync_redis
from streams.rules.errors import RulesError
from streams.rules.loader import load_rules
from streams.rules.model import RulesFile
from streams.runtime.logging import configure_logging, logging_config
from streams.runtime.runtime import Runtime
from streams.settings import Settings, load_settings

log = logging.getLogger(__name__)


class StartupError(BonusError):
    """The worker cannot start; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the worker cannot start:\n" + "\n".join(f"  {p}" for p in problems))


def check_rules(settings: Settings) -> RulesFile:
    """The rules file of the settings; RulesError lists every problem in it."""
    if settings.rules_file is None:
        raise StartupError(["BONUS_RULES_FILE: set it to the rules file (YAML) of the programme"])
    return load_rules(settings.rules_file)


# librdkafka retries these for ever; a worker must not: wrong credentials or a certificate
# that does not verify will not heal by waiting.
_FATAL = {KafkaError._AUTHENTICATION, KafkaError._SSL}


def _kafka_failure(settings: Settings, error: KafkaError) -> str:
    where = f"at {settings.kafka_bootstrap}"
    if error.code() == KafkaError._AUTHENTICATION and settings.kafka_uses_sasl:
        return (
            f"Kafka authentication failed for user {settings.kafka_sasl_username} "
            f"({settings.kafka_sasl_mechanism}) {where}: check BONUS_KAFKA_SASL_USERNAME and "
            "BONUS_KAFKA_SASL_PASSWORD"
        )
    protocol = settings.kafka_security_protocol
    return f"Kafka {where} refused the connection ({protocol}): {error.str()}"


def kafka_metadata(settings: Settings, timeout: float = 15.0) -> ClusterMetadata:
    """The cluster's metadata; StartupError at once when the broker refuses our credentials.

    A metadata request with bad credentials would only time out; the reason arrives on the
    error callback, which is polled between short requests.
    """
    failures: list[KafkaError] = []
    try:
        # log_level 0: the failures come through error_cb into one line, not as a log flood.
        admin = AdminClient(settings.kafka_config(error_cb=failures.append, log_level=0))
    except KafkaException as error:  # a CA file that holds no certificate, for one
        raise StartupError([f"Kafka client settings refused: {error.args[0].str()}"]) from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            return admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException as error:
            admin.poll(0)
            fatal = [failure for failure in failures if failure.code() in _FATAL]
            if fatal:
                raise StartupError([_kafka_failure(settings, fatal[0])]) from None
            if time.monotonic() >= deadline:
                reason = failures[-1].str() if failures else str(error)
                raise StartupError([f"Kafka at {settings.kafka_bootstrap}: {reason}"]) from None


def check_topics(settings: Settings, timeout: float = 15.0) -> int:
    """The partition count of the customer topics; StartupError lists every topic problem."""
    metadata = kafka_metadata(settings, timeout)
    problems: list[str] = []
    counts: dict[int, list[str]] = {}
    for topic, spec in CATALOG.items():
        name = topic_name(settings.topic_prefix, topic)
        found = metadata.topics.get(name)
        if found is None or found.error is not None:
            problems.append(f"topic {name} is missing (run: bonus topics create)")
        elif spec.co_partitioned:
            counts.setdefault(len(found.partitions), []).append(name)
    if len(counts) > 1:
        problems.append(f"customer topics differ in partition count: {counts}")
    if problems:
        raise StartupError(problems)
    return next(iter(counts))


def check_redis(settings: Settings) -> None:
    """Redis answers a PING (as the ACL user of the URL, over TLS for rediss://)."""
    where = mask_url(settings.redis_url)
    try:
        with sync_redis(settings, socket_timeout=5) as client:
            client.ping()
    except redis.AuthenticationError:
        user = urlsplit(settings.redis_url).username or "default"
        raise StartupError(
            [f"Redis authentication failed for user {user} at {where}: check BONUS_REDIS_URL"]
        ) from None
    except REDIS_ERRORS as error:
        raise StartupError([f"Redis at {where}: {error}"]) from None


def preflight(settings: Settings) -> tuple[RulesFile, int]:
    """Check the rules, the topics and Redis; StartupError lists every problem of all three."""
    problems: list[str] = []
    rules: RulesFile | None = None
    partitions = 0
    try:
        rules = check_rules(settings)
    except RulesError as error:
        problems += [f"{error.source}: {problem}" for problem in error.problems]
    except StartupError as error:
        problems += error.problems
    try:
        partitions = check_topics(settings)
    except StartupError as error:
        problems += error.problems
    try:
        check_redis(settings)
    except StartupError as error:
        problems += error.problems
    if problems or rules is None:
        raise StartupError(problems)
    return rules, partitions


def run_worker(err: TextIO = sys.stderr) -> int:
    """Check, then run a worker until it is stopped (SIGTERM, Ctrl-C); the exit status."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.secret_values())
    rules, partitions = preflight(settings)
    clock = clock_from_settings(settings)
    from faust.worker import Worker  # noqa: PLC0415 - faust is heavy; only workers need it

    from streams.worker.app import build_app  # noqa: PLC0415

    runtime = Runtime(settings, rules, partitions, clock)
    app = build_app(settings, runtime)
    log.info(
        "worker of group %s: %s partitions, topics %s*, web port %s, clock now %s",
        settings.consumer_group,
        partitions,
        settings.topic_prefix,
        settings.web_port,
        clock.now().isoformat(),
    )
    worker = Worker(
        app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings.log_level, err, settings.secret_values()),
        redirect_stdouts=False,
        quiet=True,
    )
    worker.execute_from_commandline()
