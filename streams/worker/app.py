"""The faust-streaming host of a worker: topics, agents, rebalance hooks, web routes.

Kept thin: every decision lives in :mod:`streams.runtime`. The faust traps of design.md shape
it: the aiokafka driver; agents with concurrency 1; events acknowledged by hand (``noack``)
only after the ledger call returned, because faust acknowledges an event in a ``finally`` and
would commit a message whose processing failed, and in order, batch by batch
(:mod:`streams.runtime.batching`); no leader topic; no topic declaration (the
topics exist, ``bonus topics create`` made them).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, cast

import faust
from faust.streams import Stream
from faust.types import TP, EventT, StreamT
from faust.web import Request, Response, View

from schemas import CATALOG, INPUT_TOPICS, Topic, topic_name
from streams.runtime.batching import BATCH_MAX, drain
from streams.runtime.dlq import InputMessage
from streams.runtime.http import HttpReply, customer_reply, health_reply, metrics_reply
from streams.runtime.runtime import Runtime
from streams.runtime.tasks import cancel_and_wait
from streams.settings import Settings

log = logging.getLogger(__name__)

Agent = Callable[[StreamT[bytes]], Coroutine[Any, Any, None]]


class BonusApp(faust.App):
    """A faust App that starts the runtime before consuming and stops it after."""

    runtime: Runtime
    scratch: Path

    async def on_first_start(self) -> None:
        """Connect the runtime before the consumer (a child service) starts."""
        await super().on_first_start()
        await self.runtime.start()

    async def on_shutdown(self) -> None:
        """Stop the runtime after the consumer stopped: the relay delivers what it holds."""
        await super().on_shutdown()
        await self.runtime.stop()
        # faust wants a data directory even with the memory store; nothing in it outlives us.
        shutil.rmtree(self.scratch, ignore_errors=True)


def shards_of(partitions: Iterable[TP], customer_topics: set[str]) -> set[int]:
    """The shards (partition numbers) of the customer input topics among ``partitions``."""
    return {tp.partition for tp in partitions if tp.topic in customer_topics}


def build_app(settings: Settings, runtime: Runtime) -> BonusApp:
    """The faust App of one worker of the consumer group ``settings.consumer_group``."""
    brokers = [f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="bonus-worker-"))
    app = BonusApp(
        settings.consumer_group,
        broker=brokers,
        store="memory://",
        datadir=str(scratch),
        autodiscover=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        # Kafka's classic default: a worker that died (kill -9) hands its shards over in 10 s
        # rather than faust's 60.
        broker_session_timeout=10.0,
        # Heartbeats tell a worker that a rebalance began; sooner means shorter hand-overs.
        broker_heartbeat_interval=1.0,
        web_enabled=True,
        web_port=settings.web_port,
        web_bind="0.0.0.0",  # noqa: S104 - the API is meant to be reached from outside
        worker_redirect_stdouts=False,
    )
    app.runtime = runtime
    app.scratch = scratch
    prefix = settings.topic_prefix
    customer_topics = {topic_name(prefix, t) for t in INPUT_TOPICS if CATALOG[t].co_partitioned}
    for topic in INPUT_TOPICS:
        channel = app.topic(
            topic_name(prefix, topic),
            key_serializer="raw",
            value_serializer="raw",
            allow_empty=True,
        )
        app.agent(channel, name=f"bonus-{topic.value}", concurrency=1)(_agent(runtime, topic))

    # faust sends these signals as (app, partitions, signal=...) and awaits the receivers.
    def on_revoked(_app: Any, *args: Any, signal: Any, **_: Any) -> Awaitable[None]:
        return runtime.revoke(shards_of(args[0], customer_topics))

    def on_assigned(_app: Any, *args: Any, signal: Any, **_: Any) -> Awaitable[None]:
        return runtime.assign(shards_of(args[0], customer_topics))

    # mode's handler type cannot be met by a plain function under mypy; the call shape is above.
    cast(Any, app.on_partitions_revoked).connect(on_revoked)
    cast(Any, app.on_partitions_assigned).connect(on_assigned)

    _routes(app, runtime)
    return app


def _agent(runtime: Runtime, topic: Topic) -> Agent:
    def to_message(event: EventT[bytes]) -> InputMessage:
        message = event.message
        return InputMessage(
            topic=topic,
            topic_name=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
        )

    async def consume(stream: StreamT[bytes]) -> None:
        if not isinstance(stream, Stream):
            raise TypeError(f"faust handed the agent a {type(stream).__name__}, not a Stream")
        manual = stream.noack()
        queue: asyncio.Queue[EventT[bytes]] = asyncio.Queue(BATCH_MAX)

        async def process(batch: list[EventT[bytes]]) -> None:
            await runtime.handle_batch([to_message(event) for event in batch])

        # Acknowledged (so committable) only after the ledger calls of its batch returned.
        draining = asyncio.create_task(drain(queue, process, manual.ack, BATCH_MAX))
        try:
            async for event in manual.events():
                await queue.put(event)
                if draining.done():
                    draining.result()  # surfaces a failure; drain never returns otherwise
        finally:
            await cancel_and_wait([draining])

    consume.__name__ = consume.__qualname__ = f"consume_{topic.value.replace('-', '_')}"
    return consume


def _respond(view: View, reply: HttpReply) -> Response:
    # aiohttp refuses a charset in ``content_type=``; the header carries the full type.
    return view.bytes(reply.body, status=reply.status, headers={"Content-Type": reply.content_type})


def _routes(app: BonusApp, runtime: Runtime) -> None:
    @app.page("/customers/{customer_id}")
    class CustomerPage(View):
        async def get(self, request: Request, customer_id: str) -> Response:
            return _respond(self, await customer_reply(runtime.ledger, runtime.clock, customer_id))

    @app.page("/metrics")
    class MetricsPage(View):
        async def get(self, request: Request) -> Response:
            return _respond(self, metrics_reply(runtime.metrics.registry))

    @app.page("/healthz")
    class HealthPage(View):
        async def get(self, request: Request) -> Response:
            return _respond(self, health_reply(runtime.ownership, lambda: runtime.consuming))
