"""Input batches: take what the consumer has buffered, process it, then acknowledge in order.

The host's consumer loop puts each message into a bounded queue (the bound is the backpressure);
:func:`drain` takes everything queued (up to ``max_size``) as one batch, hands it to the
processor, and acknowledges the batch's messages in their order only after the whole batch was
processed. Acknowledging in order matters: faust can commit an offset past a message that is
still being processed when acknowledgements arrive out of order (faust-streaming #606).

The batch then goes to the ledger whole (:mod:`streams.ledger.batch`): per shard, each wave of
at most one event per customer is one pipelined read and one pipelined script round trip, which
keeps a customer's events in order and costs far fewer round trips than one call per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

BATCH_MAX = 500


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
