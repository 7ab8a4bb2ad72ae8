"""Input batches: acknowledged in order only after the whole batch was processed; a key's
messages in order, different keys concurrently."""

from __future__ import annotations

import asyncio
import contextlib

from streams.runtime.batching import drain


def test_a_batch_is_acknowledged_in_order_after_it_was_processed() -> None:
    log: list[str] = []

    async def scenario() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(5):
            queue.put_nowait(n)

        async def process(batch: list[int]) -> None:
            log.append(f"process {batch}")
            await asyncio.sleep(0.01)

        async def ack(item: int) -> None:
            log.append(f"ack {item}")

        task = asyncio.create_task(drain(queue, process, ack, max_size=3))
        await asyncio.sleep(0.1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert log == [
        "process [0, 1, 2]",
        "ack 0",
        "ack 1",
        "ack 2",
        "process [3, 4]",
        "ack 3",
        "ack 4",
    ]


def test_a_cancelled_batch_acknowledges_nothing() -> None:
    acked: list[int] = []

    async def scenario() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        queue.put_nowait(1)

        async def process(batch: list[int]) -> None:
            await asyncio.sleep(10)

        async def ack(item: int) -> None:
            acked.append(item)

        task = asyncio.create_task(drain(queue, process, ack))
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert acked == []
