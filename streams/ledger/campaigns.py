"""Campaign launches: the registry, and the fan-out that grants a campaign shard by shard.

A CampaignLaunch is not granted by the worker that consumes it (``bonus.campaigns`` is keyed by
campaign id, so one worker sees each launch). That worker only RECORDS it: one registry hash
per campaign (``keys.campaign_key``) with the launch, its digest and the service time it was
recorded, and a pending entry in every shard's fan-out hash. Then every worker, in the loop of
each shard it owns, walks that shard's index of known customers bucket by bucket (a batch is
whole buckets, at least ``batch`` customers unless the shard ends) and runs the grant script
for each customer of the segment. The resume point (the next bucket) is stored after each
batch, so a crash or a rebalance repeats at most one batch, which the grant script makes
harmless (one lot per campaign and customer, decided inside the script).

Who is granted, "at launch time": the customers whose record existed when the launch was
recorded (creation time in the index <= the recording time; a customer first seen later is not
part of the campaign, even if the fan-out has not finished), judged by the segment on their
statistics when the fan-out reaches them, with ``days_since_last_purchase`` counted to the
launch's ``occurred_at``. A customer whose statistics change between the launch and the moment
the fan-out reaches them (seconds for a shard of a million customers) is judged on the newer
ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from schemas.inputs import CampaignLaunch
from streams.core.segments import segment_matches
from streams.ledger.codec import decode_reply, digest, encode_request, text
from streams.ledger.codec import to_ms as ms
from streams.ledger.keys import INDEX_BUCKETS, ShardKeys, campaign_key
from streams.ledger.outcomes import (
    Accrued,
    CampaignRecorded,
    Conflict,
    Duplicate,
    LaunchOutcome,
    UnknownSegment,
)
from streams.ledger.view import stats_from, t36
from streams.redis_clients import ScriptCall, run_scripts

if TYPE_CHECKING:
    from streams.ledger.ledger import Ledger
    from streams.redis_clients import AsyncClient
    from streams.rules.model import Segment

log = logging.getLogger(__name__)

FANOUT_BATCH = 500
BUCKETS_PER_TRIP = 64  # index buckets read in one round trip
KIND_CAMPAIGN = "campaigns"


def terms_digest(event: CampaignLaunch) -> str:
    """A digest of what a launch grants (not its event id or time): equal terms = relaunch."""
    terms = event.model_dump(mode="json", exclude={"event_id", "occurred_at"})
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Registered:
    """A campaign's registry record."""

    launch: CampaignLaunch
    recorded_ms: int
    shards: int
    done: dict[int, tuple[int, int]]  # shard -> (granted, scanned), for the shards done
    total: int | None  # granted in all, once every shard is done

    @property
    def complete(self) -> bool:
        """Every shard is done."""
        return len(self.done) >= self.shards

    @property
    def granted(self) -> int:
        """Lots granted by the shards done so far."""
        return sum(granted for granted, _ in self.done.values())

    @property
    def scanned(self) -> int:
        """Customers looked at by the shards done so far."""
        return sum(scanned for _, scanned in self.done.values())


@dataclass(frozen=True, slots=True)
class FanoutStep:
    """One batch of one campaign in one shard."""

    campaign_id: str
    shard: int
    scanned: int  # customers of the index looked at in this batch
    granted: int  # lots made by this batch (not counting repeats of an interrupted batch)
    shard_done: bool
    completed: Registered | None = None  # set by the step that finished the whole campaign


async def record_launch(ledger: Ledger, event: CampaignLaunch, now: datetime) -> LaunchOutcome:
    """Validate and record a launch, and mark every shard not done yet as pending for it."""
    if event.segment not in ledger.rules.segments:
        return UnknownSegment(event.campaign_id, event.segment)
    request = {
        "event": event.event_id,
        "digest": digest(event),
        "terms": terms_digest(event),
        "payload": event.model_dump_json(),
        "at": ms(now),
        "shards": ledger.partitions,
    }
    key = campaign_key(ledger.prefix, event.campaign_id)
    reply = decode_reply(await ledger.scripts.launch(keys=[key], args=[encode_request(request)]))
    status = reply["status"]
    if status == "conflict":
        log.warning("campaign launch %s conflicts with the recorded one", event.event_id)
        return Conflict(kind=KIND_CAMPAIGN, event_id=event.event_id)
    # Also for a repeat: a crash may have come between recording and marking the shards.
    await _mark_pending(ledger, event.campaign_id)
    if status == "relaunch":
        return CampaignRecorded("relaunch", event.campaign_id, str(reply["event"]))
    if status == "recorded":
        log.info("campaign %s recorded for segment %s", event.campaign_id, event.segment)
        return CampaignRecorded("recorded", event.campaign_id, event.event_id)
    return CampaignRecorded("duplicate", event.campaign_id, event.event_id)


async def _mark_pending(ledger: Ledger, campaign_id: str) -> None:
    registered = await read_registry(ledger, campaign_id)
    if registered is None:
        return
    async with ledger.client.pipeline(transaction=False) as pipe:
        for shard in range(registered.shards):
            if shard not in registered.done:
                pipe.hsetnx(ledger.keys(shard).fanouts, campaign_id, "0,0,0")
        await pipe.execute()


async def read_registry(ledger: Ledger, campaign_id: str) -> Registered | None:
    """The registry record of a campaign, or None if it was never launched."""
    return await read_registry_of(ledger.client, ledger.prefix, campaign_id)


async def read_registry_of(client: AsyncClient, prefix: str, campaign_id: str) -> Registered | None:
    """:func:`read_registry` without a ledger (for the command line): key prefix and client."""
    raw = await client.hgetall(campaign_key(prefix, campaign_id))
    if not raw:
        return None
    fields = {text(f): text(v) for f, v in raw.items()}
    done: dict[int, tuple[int, int]] = {}
    for name, value in fields.items():
        if name.startswith("s") and name[1:].isdigit():
            granted, scanned = value.split(",")
            done[int(name[1:])] = (int(granted), int(scanned))
    return Registered(
        launch=CampaignLaunch.model_validate_json(fields["p"]),
        recorded_ms=int(fields["at"]),
        shards=int(fields["n"]),
        done=done,
        total=int(fields["done"]) if "done" in fields else None,
    )


async def fanout_step(
    ledger: Ledger, shard: int, now: datetime, batch: int = FANOUT_BATCH
) -> list[FanoutStep]:
    """Grant one batch of every campaign pending in ``shard``; nothing pending: ``[]``."""
    pending = await ledger.client.hgetall(ledger.keys(shard).fanouts)
    steps = []
    for campaign_id, progress in sorted((text(c), text(p)) for c, p in pending.items()):
        step = _advance(ledger, shard, campaign_id, progress=progress, now=now, batch=batch)
        steps.append(await step)
    return steps


async def _advance(
    ledger: Ledger, shard: int, campaign_id: str, *, progress: str, now: datetime, batch: int
) -> FanoutStep:
    k = ledger.keys(shard)
    bucket, granted, scanned = (int(x) for x in progress.split(","))
    registered = await read_registry(ledger, campaign_id)
    if registered is None:  # the registry was deleted by hand: nothing left to do
        await ledger.client.hdel(k.fanouts, campaign_id)
        return FanoutStep(campaign_id, shard, 0, 0, shard_done=True)
    members, bucket = await _read_buckets(ledger.client, k, bucket, batch)
    eligible = [m for m, created in members if created <= registered.recorded_ms]
    last = bucket >= INDEX_BUCKETS
    segment = ledger.rules.segments.get(registered.launch.segment)
    made = repeated = 0
    if eligible and segment is not None:
        made, repeated = await _grant_batch(ledger, registered.launch, segment, eligible, now)
    granted += made + repeated
    scanned += len(eligible)
    if not last:
        await ledger.client.hset(k.fanouts, campaign_id, f"{bucket},{granted},{scanned}")
        return FanoutStep(campaign_id, shard, len(eligible), made, shard_done=False)
    # Done: record it in the registry first, so a crash before the HDEL only repeats a batch.
    key = campaign_key(ledger.prefix, campaign_id)
    await ledger.client.hset(key, f"s{shard}", f"{granted},{scanned}")
    await ledger.client.hdel(k.fanouts, campaign_id)
    log.info("campaign %s: shard %s done, %s granted of %s", campaign_id, shard, granted, scanned)
    completed = await read_registry(ledger, campaign_id)
    if completed is None or not completed.complete:
        return FanoutStep(campaign_id, shard, len(eligible), made, shard_done=True)
    # Exactly one worker wins this and reports the completion.
    won = await ledger.client.hsetnx(key, "done", str(completed.granted))
    return FanoutStep(
        campaign_id,
        shard,
        len(eligible),
        made,
        shard_done=True,
        completed=completed if won else None,
    )


async def _read_buckets(
    client: AsyncClient, k: ShardKeys, bucket: int, batch: int
) -> tuple[list[tuple[str, int]], int]:
    """(customer id, creation ms) of whole index buckets from ``bucket`` on, until at least
    ``batch`` customers or the last bucket; and the next bucket to read."""
    members: list[tuple[str, int]] = []
    while bucket < INDEX_BUCKETS and len(members) < batch:
        upto = min(bucket + BUCKETS_PER_TRIP, INDEX_BUCKETS)
        async with client.pipeline(transaction=False) as pipe:
            for b in range(bucket, upto):
                pipe.hgetall(k.index(b))
            contents = await pipe.execute()
        for found in contents:
            members.extend((text(m), t36(text(c))) for m, c in found.items())
            bucket += 1
            if len(members) >= batch:
                break
    return members, bucket


async def _grant_batch(
    ledger: Ledger, launch: CampaignLaunch, segment: Segment, customers: list[str], now: datetime
) -> tuple[int, int]:
    """Grant ``launch`` to the customers of ``segment`` among ``customers``: (made, repeated).

    ``repeated`` counts customers this very launch had already granted (a batch repeated after
    a crash), so that the stored counts stay exact.
    """
    k = ledger.keys(ledger.shard_of(customers[0]))
    async with ledger.client.pipeline(transaction=False) as pipe:
        for customer_id in customers:
            pipe.hmget(k.customer(customer_id), ["v", "S"])
        records = await pipe.execute()
    targets: list[tuple[str, int]] = []
    for customer_id, (v, s) in zip(customers, records, strict=True):
        fields = {"v": None if v is None else text(v), "S": None if s is None else text(s)}
        version, stats = stats_from(fields)
        if segment_matches(segment, stats, launch.occurred_at):
            targets.append((customer_id, version))
    if not targets:
        return 0, 0
    calls: list[ScriptCall] = [
        (
            ledger.scripts.grant,
            ledger.campaign_keys(customer_id),
            [encode_request(ledger.grant_request(launch, customer_id, version, now))],
        )
        for customer_id, version in targets
    ]
    replies = await run_scripts(ledger.client, calls)
    made = repeated = 0
    for (customer_id, _), raw in zip(targets, replies, strict=True):
        reply = decode_reply(raw)
        status = reply["status"]
        if status == "stale":  # the customer changed since the read: once more, on its own
            outcome = await ledger.grant_campaign(launch, customer_id, now)
            made += isinstance(outcome, Accrued) and bool(outcome.lots)
            repeated += isinstance(outcome, Duplicate)
        elif status == "applied":
            made += bool(reply.get("lots"))
        elif status == "duplicate":
            repeated += 1
    return made, repeated


async def count_segment(
    ledger: Ledger, name: str, at: datetime, batch: int = 1000
) -> tuple[int, int]:
    """(customers in segment ``name`` at ``at``, known customers), over every shard's index."""
    segment = ledger.rules.segments[name]
    matching = known = 0
    for shard in range(ledger.partitions):
        k = ledger.keys(shard)
        bucket = 0
        while bucket < INDEX_BUCKETS:
            found, bucket = await _read_buckets(ledger.client, k, bucket, batch)
            members = [customer_id for customer_id, _ in found]
            async with ledger.client.pipeline(transaction=False) as pipe:
                for customer_id in members:
                    pipe.hmget(k.customer(customer_id), ["v", "S"])
                records = await pipe.execute()
            for v, s in records:
                fields = {"v": None if v is None else text(v), "S": None if s is None else text(s)}
                matching += segment_matches(segment, stats_from(fields)[1], at)
            known += len(members)
    return matching, known
