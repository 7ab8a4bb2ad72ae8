"""Input batches: take what the consumer has buffered, process it, then acknowledge in order.

The host's consumer loop puts each message into a bounded queue (the bound is the backpressure);
:func:`drain` takes everything queued (up to ``max_size``) as one batch, hands it to the
processor, and acknowledges the batch's messages in their order only after the whole batch was
processed. Acknowledging in order matters: faust can commit an offset past a message that is
still being processed when acknowledgements arrive out of order (faust-streaming #606).

Within a batch, :func:`by_key` keeps each key's messages in order (a customer's redemption after
its purchase) and lets different keys run concurrently: fewer idle round trips to Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

BATCH_MAX = 200


async def drain(
    queue: asyncio.Queue[T],
    process: Callable[[list[T]], Awaitable[Any]],
    ack: Callable[[T], Awaitable[Any]],
    max_size: int = BATCH_MAX,
) -> None:
    """Process the queue batch by batch until cancelled; ack each batch after processing."""
    while True:
        batch = [await queue.get()]
        while len(batch) < max_size and not queue.empty():
            batch.append(queue.get_nowait())
        await process(batch)
        for item in batch:
            await ack(item)


async def by_key(
    items: Sequence[T], key: Callable[[T], Hashable], handle: Callable[[T], Awaitable[R]]
) -> list[R]:
    """Handle ``items``: one key's items one after another, different keys concurrently.

    Results come back in the order of ``items``.
    """
    groups: dict[Hashable, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(key(item), []).append(index)
    results: list[Any] = [None] * len(items)

    async def run(indexes: list[int]) -> None:
        for index in indexes:
            results[index] = await handle(items[index])

    await asyncio.gather(*(run(indexes) for indexes in groups.values()))
    return results
