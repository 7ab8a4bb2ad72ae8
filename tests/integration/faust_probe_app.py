"""A minimal faust-streaming app, run as a subprocess by test_faust_app.py.

Its agent consumes one topic and appends every value to a Redis list, so that the test can
assert from outside that faust, aiokafka, the broker and Redis work together here.
"""

from __future__ import annotations

import os

import faust

from streams.redis_clients import async_redis
from streams.settings import Settings

BROKER = os.environ["PROBE_BROKER"]
app = faust.App(
    os.environ["PROBE_GROUP"],
    broker=f"kafka://{BROKER}",
    store="memory://",
    datadir=os.environ["PROBE_DATADIR"],
    web_enabled=False,
    topic_disable_leader=True,
    consumer_auto_offset_reset="earliest",
)
topic = app.topic(os.environ["PROBE_TOPIC"], value_serializer="raw", key_serializer="raw")
# A cluster client under BONUS_REDIS_CLUSTER, as a worker would have.
store = async_redis(Settings(redis_url=os.environ["PROBE_REDIS"]))


@app.agent(topic, concurrency=1)
async def record(values: faust.StreamT[bytes]) -> None:
    async for value in values:
        await store.rpush(os.environ["PROBE_KEY"], value)


if __name__ == "__main__":
    app.main()
