"""One throw-away namespace of a benchmark phase: topics, consumer group, Redis keys.

Each phase gets its own topic prefix, consumer group and Redis key prefix, and deletes all
of them when it ends (also on failure or Ctrl-C), so runs never see each other's data.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from confluent_kafka.admin import AdminClient

from schemas import CATALOG, Topic, topic_name
from streams.kafka.admin import create_topics
from streams.redis_clients import sync_redis
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Namespace:
    """Topics (``bench-<tag>.*``), group (``bench-<tag>``) and keys (``b<tag>:``) of a phase."""

    settings: Settings
    partitions: int
    extra_topics: list[str] = field(default_factory=list)

    @classmethod
    def new(cls, base: Settings, phase: str, partitions: int) -> Namespace:
        """A fresh namespace for ``phase`` (no I/O)."""
        tag = f"{phase}-{uuid.uuid4().hex[:8]}"
        settings = base.model_copy(
            update={
                "topic_prefix": f"bench-{tag}.",
                "redis_key_prefix": f"b{tag}:",
                "consumer_group": f"bench-{tag}",
                "partitions": partitions,
            }
        )
        return cls(settings, partitions)

    def topic(self, topic: Topic) -> str:
        """The full name of a catalog topic here."""
        return topic_name(self.settings.topic_prefix, topic)

    def create(self, *extra: str) -> None:
        """Create the catalog topics and ``extra`` plain topics (``partitions`` each)."""
        create_topics(self.settings, self.partitions)
        if extra:
            from confluent_kafka.cimpl import NewTopic  # noqa: PLC0415 - as streams.kafka.admin

            names = [self.settings.topic_prefix + name for name in extra]
            admin = AdminClient(self.settings.kafka_config())
            futures = admin.create_topics([NewTopic(n, self.partitions, 1) for n in names])
            for future in futures.values():
                future.result()
            self.extra_topics.extend(names)

    def delete(self) -> None:
        """Delete the topics, the consumer group and every Redis key of this namespace."""
        s = self.settings
        admin = AdminClient(s.kafka_config())
        names = [topic_name(s.topic_prefix, t) for t in CATALOG] + self.extra_topics
        try:
            existing = set(admin.list_topics(timeout=20).topics)
            doomed = [n for n in names if n in existing]
            for name, future in (admin.delete_topics(doomed) if doomed else {}).items():
                try:
                    future.result()
                except Exception:
                    log.warning("could not delete topic %s", name)
            for future in admin.delete_consumer_groups([s.consumer_group]).values():
                try:
                    future.result()
                except Exception:
                    log.debug("no consumer group %s to delete", s.consumer_group)
        finally:
            delete_keys(s, s.redis_key_prefix)


def delete_keys(settings: Settings, prefix: str) -> int:
    """Delete every Redis key starting with ``prefix``; how many."""
    client = sync_redis(settings)
    deleted = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=5000):
            batch.append(key)
            if len(batch) >= 2000:
                deleted += int(client.unlink(*batch))
                batch = []
        if batch:
            deleted += int(client.unlink(*batch))
    finally:
        client.close()
    return deleted
