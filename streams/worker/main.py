"""``bonus worker``: check everything, then run one worker of the consumer group.

Nothing is consumed before the settings, the rules file, the topics and Redis have been
checked; each check lists every problem it found, so that one start shows them all.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas import CATALOG, topic_name
from schemas.errors import BonusError
from streams.clock import clock_from_settings
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


def check_topics(settings: Settings, timeout: float = 15.0) -> int:
    """The partition count of the customer topics; StartupError lists every topic problem."""
    try:
        metadata = AdminClient(settings.kafka_config()).list_topics(timeout=timeout)
    except KafkaException as error:
        raise StartupError([f"Kafka at {settings.kafka_bootstrap}: {error}"]) from error
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
    """Redis answers a PING."""
    try:
        with sync_redis(settings, socket_timeout=5) as client:
            client.ping()
    except REDIS_ERRORS as error:
        raise StartupError([f"Redis at {settings.redis_url}: {error}"]) from error


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
    configure_logging(settings.log_level)
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
        logging_config=logging_config(settings.log_level, err),
        redirect_stdouts=False,
        quiet=True,
    )
    worker.execute_from_commandline()
