"""The fault suite's own broker and redis-servers, started through ``deploy/local``.

Scenarios kill and restart them, so they are never the shared services: Kafka on 19092
(controller 19093), Redis with ``appendfsync always`` on 16379 and with ``everysec`` on 16380,
each in its own folder under ``.local/faults/``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy/local"))

from local_kafka import KafkaBroker  # noqa: E402 - deploy/local is a folder of scripts
from local_redis import RedisServer  # noqa: E402
from procs import STATE  # noqa: E402

HOME = STATE / "faults"
KAFKA_PORT, CONTROLLER_PORT = 19092, 19093
REDIS_ALWAYS_PORT, REDIS_EVERYSEC_PORT = 16379, 16380


@dataclass(frozen=True)
class Services:
    """The broker and the two redis-servers of the suite."""

    kafka: KafkaBroker
    redis_always: RedisServer
    redis_everysec: RedisServer

    @property
    def bootstrap(self) -> str:
        """The broker's bootstrap address."""
        return f"127.0.0.1:{self.kafka.port}"

    def redis_url(self, server: RedisServer) -> str:
        """The URL of one of the redis-servers."""
        return f"redis://127.0.0.1:{server.port}/0"

    def up(self) -> None:
        """Start (or reuse) all three and wait until they answer."""
        self.kafka.up(timeout=180)
        self.redis_always.up()
        self.redis_everysec.up()

    def down(self) -> None:
        """Stop all three (gracefully)."""
        self.redis_everysec.down()
        self.redis_always.down()
        self.kafka.down()


def services() -> Services:
    """The suite's services on its own ports and folders."""
    return Services(
        kafka=KafkaBroker(
            name="faults-kafka",
            port=KAFKA_PORT,
            controller_port=CONTROLLER_PORT,
            home=HOME / "kafka",
            heap="512m",
        ),
        redis_always=RedisServer(
            name="faults-redis-always",
            port=REDIS_ALWAYS_PORT,
            home=HOME / "redis-always",
            appendfsync="always",
        ),
        redis_everysec=RedisServer(
            name="faults-redis-everysec",
            port=REDIS_EVERYSEC_PORT,
            home=HOME / "redis-everysec",
            appendfsync="everysec",
        ),
    )
