"""Batches of input events: many customers' state changes in few Redis round trips.

Each event is still ONE atomic script (``accrue``, ``redeem``, ``refund``) with its own
idempotency key and version check; only the round trips are shared. Per shard (one Redis hash
tag, so a pipeline stays on one Redis Cluster node), the events are applied in waves: a wave
holds the next pending event of every customer, reads what those events need in one pipelined
round trip, then runs their scripts in a second one. A customer's later events wait for the
next wave, so they read the state its earlier events left: order per customer and every cap
hold exactly as with one call per event. A ``stale`` reply (another worker changed the
customer between the read and the script) keeps the event for the next wave, as
:meth:`Ledger.run_call` retries from the read.

Scripts run by EVALSHA; a ``NOSCRIPT`` reply (after ``SCRIPT FLUSH`` or a failover) reloads
the scripts and runs just those calls again: a script that answered NOSCRIPT changed nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError

from schemas.inputs import CampaignLaunch, InputEvent
from streams.core.model import CustomerStats
from streams.ledger.codec import decode_reply, encode_request, text
from streams.ledger.errors import ScriptError, StaleVersionError
from streams.ledger.outcomes import LaunchOutcome, Outcome, outcome_from_reply
from streams.ledger.view import StoredOrder, stats_from

if TYPE_CHECKING:
    from streams.ledger.ledger import Ledger
    from streams.redis_clients import AsyncClient

STAT_FIELDS = ("v", "S")
"""The customer record's version and statistics: what an event without an order reads."""

Seen = tuple[int, CustomerStats, StoredOrder | None]
NOT_READ: Seen = (0, CustomerStats(purchases=0, total_amount=Decimal(0)), None)
"""What a call that reads nothing (a redemption) is built from."""


@dataclass(frozen=True, slots=True)
class Call:
    """One input event's script call, built from the state read just before it."""

    kind: str
    event_id: str
    customer_id: str
    script: AsyncScript
    keys: list[str]
    reads: bool  # read version and statistics (and the order record) first
    order_id: str | None  # the order record to read with them
    build: Callable[[int, CustomerStats, StoredOrder | None], dict[str, Any]]
    order_lots: bool = True  # read the order's lots too (else only its amounts)


@dataclass(frozen=True, slots=True)
class ScriptRun:
    """One EVALSHA of a pipeline."""

    script: AsyncScript
    keys: list[str]
    args: list[Any]


def parse_read(replies: Iterator[Any], order_id: str | None, order_lots: bool = True) -> Seen:
    """``(version, statistics, order record)`` from the replies of ``Ledger.queue_read``,
    taken from ``replies``: one, or two with an order (the record's, then its cold unit's)."""
    raw = next(replies)
    if order_id is None or not order_lots:
        fields = [*STAT_FIELDS] if order_id is None else [*STAT_FIELDS, f"O{order_id}"]
        values = [None if v is None else text(v) for v in raw]
        read = dict(zip(fields, values, strict=True))
        if order_id is None:
            return (*stats_from(read), None)
        found = {f: v for f, v in read.items() if v is not None}
        version, stats = stats_from(read)
        order = StoredOrder.from_record(order_id, found)
    else:
        record = {text(f): text(v) for f, v in raw.items()}
        version, stats = stats_from(dict(record))
        order = StoredOrder.from_record(order_id, record)
    cold = next(replies)
    if order is None and cold is not None:
        order = StoredOrder.from_cold(text(cold))
    return version, stats, order


async def run_scripts(ledger: Ledger, runs: Sequence[ScriptRun]) -> list[Any]:
    """EVALSHA every run in one pipeline (runs must share a hash tag); replies in order.

    A NOSCRIPT reply reloads the scripts and runs again only the runs that got it.
    """
    replies: list[Any] = [None] * len(runs)
    todo = list(range(len(runs)))
    for _ in range(2):
        answers = await _pipeline(ledger.client, [runs[i] for i in todo])
        missing = []
        for i, answer in zip(todo, answers, strict=True):
            if isinstance(answer, NoScriptError):
                missing.append(i)
            elif isinstance(answer, ResponseError):
                raise ScriptError(str(answer))
            elif isinstance(answer, BaseException):
                raise answer
            else:
                replies[i] = answer
        if not missing:
            return replies
        await ledger.scripts.load(ledger.client)
        todo = missing
    raise ScriptError("the scripts were flushed again right after they were loaded")


async def _pipeline(client: AsyncClient, runs: Sequence[ScriptRun]) -> list[Any]:
    async with client.pipeline(transaction=False) as pipe:
        for run in runs:
            pipe.evalsha(run.script.sha, len(run.keys), *run.keys, *run.args)
        answers: list[Any] = await pipe.execute(raise_on_error=False)
        return answers


async def apply_batch(
    ledger: Ledger, events: Sequence[InputEvent], now: datetime
) -> list[Outcome | LaunchOutcome]:
    """Apply ``events`` at ``now``; outcomes in the order of ``events``.

    Campaign launches (their own topic, rare) go one by one; customer events by shard, the
    shards concurrently.
    """
    outcomes: list[Outcome | LaunchOutcome | None] = [None] * len(events)
    shards: dict[int, list[tuple[int, Call]]] = {}
    for index, event in enumerate(events):
        if isinstance(event, CampaignLaunch):
            outcomes[index] = await ledger.launch_campaign(event, now)
        else:
            call = ledger.call_for(event, now)
            shards.setdefault(ledger.shard_of(event.customer_id), []).append((index, call))
    done = await asyncio.gather(*(apply_shard(ledger, [c for _, c in s]) for s in shards.values()))
    for group, shard_outcomes in zip(shards.values(), done, strict=True):
        for (index, _), outcome in zip(group, shard_outcomes, strict=True):
            outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


async def apply_shard(ledger: Ledger, calls: Sequence[Call]) -> list[Outcome]:
    """Apply the calls of ONE shard in waves (see the module); outcomes in call order."""
    queues: dict[str, deque[int]] = {}
    for index, call in enumerate(calls):
        queues.setdefault(call.customer_id, deque()).append(index)
    replies: list[dict[str, Any]] = [{} for _ in calls]
    stale = [0] * len(calls)
    while queues:
        wave = [queue[0] for queue in queues.values()]
        seen = await _read(ledger, [calls[i] for i in wave])
        runs = [
            ScriptRun(
                calls[i].script, calls[i].keys, [encode_request(ledger.armed(calls[i].build(*s)))]
            )
            for i, s in zip(wave, seen, strict=True)
        ]
        answers = await run_scripts(ledger, runs)
        for i, answer in zip(wave, answers, strict=True):
            reply = decode_reply(answer)
            if reply["status"] == "stale":
                stale[i] += 1
                if stale[i] >= ledger.max_attempts:
                    raise StaleVersionError(
                        f"the customer kept changing over {ledger.max_attempts} attempts"
                    )
                continue
            replies[i] = reply
            queue = queues[calls[i].customer_id]
            queue.popleft()
            if not queue:
                del queues[calls[i].customer_id]
    return [
        outcome_from_reply(call.kind, call.event_id, reply)
        for call, reply in zip(calls, replies, strict=True)
    ]


async def _read(ledger: Ledger, calls: Sequence[Call]) -> list[Seen]:
    """What each call reads, in one round trip (``NOT_READ`` for a call that reads nothing)."""
    reading = [call for call in calls if call.reads]
    if not reading:
        return [NOT_READ] * len(calls)
    async with ledger.client.pipeline(transaction=False) as pipe:
        for call in reading:
            ledger.queue_read(pipe, call.customer_id, call.order_id, call.order_lots)
        raw = iter(await pipe.execute())
    return [
        parse_read(raw, call.order_id, call.order_lots) if call.reads else NOT_READ
        for call in calls
    ]
