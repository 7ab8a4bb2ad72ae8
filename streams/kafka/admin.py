"""Create the catalog's topics: co-partitioned customer topics, compacted balances.

Safe to repeat: an existing topic is left alone when it agrees with the catalog, and reported
as a problem when its partition count breaks co-partitioning (a customer's events and outputs
must share a partition number, which is its ledger shard).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import monotonic, sleep

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from schemas.errors import BonusError
from schemas.topics import CATALOG, Topic, topic_name
from streams.settings import Settings

log = logging.getLogger(__name__)

# Topics that are not per customer need no more than this many partitions.
_SMALL_TOPIC_PARTITIONS = 3


class TopicsError(BonusError):
    """Topics that cannot be created or do not agree with the catalog."""


@dataclass(frozen=True)
class TopicResult:
    """What happened to one topic."""

    name: str
    partitions: int
    created: bool


def planned_partitions(topic: Topic, partitions: int) -> int:
    """Customer topics all get ``partitions``; the others a small fixed count."""
    return partitions if CATALOG[topic].co_partitioned else min(partitions, _SMALL_TOPIC_PARTITIONS)


def create_topics(
    settings: Settings,
    partitions: int | None = None,
    replication_factor: int | None = None,
    timeout: float = 30.0,
) -> list[TopicResult]:
    """Create every catalog topic under the settings' prefix; return what was done."""
    count = partitions or settings.partitions
    replicas = replication_factor or settings.replication_factor
    admin = AdminClient(settings.kafka_config())
    existing = admin.list_topics(timeout=timeout).topics
    wanted: dict[str, NewTopic] = {}
    results: list[TopicResult] = []
    problems: list[str] = []
    for topic, spec in CATALOG.items():
        name = topic_name(settings.topic_prefix, topic)
        planned = planned_partitions(topic, count)
        if name in existing:
            have = len(existing[name].partitions)
            if spec.co_partitioned and have != count:
                problems.append(f"{name} has {have} partitions, the customer topics need {count}")
            results.append(TopicResult(name, have, created=False))
            continue
        config: dict[str, str] = {"cleanup.policy": spec.cleanup_policy}
        if spec.retention_ms is not None:
            config["retention.ms"] = str(spec.retention_ms)
        wanted[name] = NewTopic(name, planned, replicas, config=config)
        results.append(TopicResult(name, planned, created=True))
    futures = admin.create_topics(list(wanted.values()), request_timeout=timeout) if wanted else {}
    for name, future in futures.items():
        try:
            future.result()
        except KafkaException as error:
            kafka_error = error.args[0]
            if kafka_error.code() != KafkaError.TOPIC_ALREADY_EXISTS:
                problems.append(f"{name}: {kafka_error.str()}")
        else:
            log.info("created topic %s", name)
    if problems:
        raise TopicsError("; ".join(problems))
    _await_metadata(admin, {name: topic.num_partitions for name, topic in wanted.items()}, timeout)
    return results


def _await_metadata(admin: AdminClient, wanted: dict[str, int], timeout: float) -> None:
    """Wait until the broker's metadata shows every created topic with all its partitions led.

    A creation is acknowledged before every metadata answer knows the topic; a worker or a test
    that looks right after would find it missing.
    """
    deadline = monotonic() + timeout
    missing = dict(wanted)
    while missing:
        topics = admin.list_topics(timeout=timeout).topics
        missing = {
            name: count
            for name, count in missing.items()
            if name not in topics
            or len(topics[name].partitions) != count
            or any(p.leader < 0 for p in topics[name].partitions.values())
        }
        if missing and monotonic() > deadline:
            raise TopicsError(
                f"created topics not yet visible after {timeout:.0f} s: {sorted(missing)}"
            )
        if missing:
            sleep(0.1)
