"""The Redis ledger adapter: one atomic script per state change, optimistic concurrency for
the inputs computed in Python (segment statistics, refund shares), typed outcomes.

The flow for an input event: read what the pure core needs (version, statistics, order) in one
round trip, run the core, call the script with the version it saw. A script answers ``stale``
when the version moved (another worker touched the customer, e.g. during a rebalance) and the
call is retried from the read. Caps, once-per-customer, redemption and timers are decided
inside the scripts, from the state as it is at that moment.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from schemas.inputs import AppInstall, CampaignLaunch, InputEvent, Purchase, RedemptionRequest
from schemas.inputs import Refund as RefundEvent
from streams.core.accrual import plan_accruals, plan_campaign_lot
from streams.core.clawback import clawback_points
from streams.core.ids import SOURCE_APP_INSTALLS, SOURCE_PURCHASES
from streams.core.model import CustomerStats
from streams.core.segments import apply_purchase, segment_matches
from streams.core.warnings import calendar_day
from streams.failpoints import LUA_BEFORE_WRITE, Failpoints
from streams.ledger import batch, campaigns
from streams.ledger.batch import NOT_READ, STAT_FIELDS, Call, ScriptRun, parse_read
from streams.ledger.codec import decode_reply, digest, encode_request, plan_request, text
from streams.ledger.codec import to_ms as ms
from streams.ledger.errors import (
    LedgerNotStartedError,
    ScriptError,
    StaleVersionError,
)
from streams.ledger.keys import HOT_LOTS, IDEMPOTENCY_TTL_SECONDS, ShardKeys, check_prefix
from streams.ledger.outbox import OutboxEntry
from streams.ledger.outcomes import (
    Fired,
    LaunchOutcome,
    Outcome,
    outcome_from_reply,
)
from streams.ledger.scripts import Scripts
from streams.ledger.view import CustomerView, StoredOrder, build_view
from streams.limits import MAX_RECORD_FIELDS
from streams.partitioning import partition_for
from streams.redis_clients import AsyncClient, AsyncPipeline
from streams.rules.model import RulesFile

log = logging.getLogger(__name__)

# Input kinds of the idempotency keys: the input topics without their prefix.
KIND_PURCHASE, KIND_INSTALL = SOURCE_PURCHASES, SOURCE_APP_INSTALLS
KIND_REDEMPTION, KIND_REFUND = "redemptions", "refunds"


class Ledger:
    """The customers' lots in Redis. Construct (no I/O), ``await start()``, then use."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        prefix: str,
        partitions: int,
        rules: RulesFile,
        order_retention: timedelta = timedelta(days=30),
        idempotency_ttl_seconds: int = IDEMPOTENCY_TTL_SECONDS,
        max_attempts: int = 10,
        max_record_fields: int = MAX_RECORD_FIELDS,
        hot_lots: int = HOT_LOTS,
        failpoints: Failpoints | None = None,
    ) -> None:
        if partitions <= 0:
            raise ValueError("partitions must be positive")
        self.client = client
        self.prefix = check_prefix(prefix)
        self.partitions = partitions
        self.rules = rules
        self._retention_ms = int(order_retention.total_seconds() * 1000)
        self._ttl = idempotency_ttl_seconds
        self.max_attempts = max_attempts
        if max_record_fields < 16:
            raise ValueError("max_record_fields must be at least 16")
        self._max_fields = max_record_fields
        if hot_lots < 2:
            raise ValueError("hot_lots must be at least 2")
        self._hot_lots = hot_lots  # see "Cold tier" in streams/ledger/keys.py
        self._scripts: Scripts | None = None
        self._failpoints = failpoints  # test-only (streams.failpoints)

    async def start(self) -> None:
        """Register and load the scripts (a broken script fails here, not on first use)."""
        scripts = Scripts.register(self.client)
        await scripts.load(self.client)
        self._scripts = scripts

    @property
    def scripts(self) -> Scripts:
        """The registered scripts."""
        if self._scripts is None:
            raise LedgerNotStartedError("call await Ledger.start() first")
        return self._scripts

    def shard_of(self, customer_id: str) -> int:
        """The customer's shard: its Kafka partition."""
        return partition_for(customer_id, self.partitions)

    def keys(self, shard: int) -> ShardKeys:
        """The keys of one shard."""
        return ShardKeys(self.prefix, shard)

    def _keys(self, customer_id: str, kind: str | None, event_id: str) -> list[str]:
        k = self.keys(self.shard_of(customer_id))
        keys = [k.customer(customer_id), k.timers, k.outbox, k.names]
        if kind is not None:
            keys.append(k.idempotency(kind, event_id))
        # Last: the scripts that can create a customer record add it to its index bucket.
        keys.append(k.index_of(customer_id))
        return keys

    async def read_stats(
        self, customer_id: str, order_id: str | None = None, *, order_lots: bool = True
    ) -> tuple[int, CustomerStats, StoredOrder | None]:
        """``(version, statistics, order record)`` of a customer, in one round trip; without
        ``order_lots`` the order comes without its lots (only its amounts: what a purchase
        needs), read in O(1) instead of the whole record."""
        async with self.client.pipeline(transaction=False) as pipe:
            self.queue_read(pipe, customer_id, order_id, order_lots)
            raw = iter(await pipe.execute())
        return parse_read(raw, order_id, order_lots)

    def queue_read(
        self, pipe: AsyncPipeline, customer_id: str, order_id: str | None, order_lots: bool = True
    ) -> None:
        """Queue the read of :meth:`read_stats` on ``pipe`` (parse its reply with
        :func:`parse_read`), so that a batch reads many customers in one round trip."""
        k = self.keys(self.shard_of(customer_id))
        key = k.customer(customer_id)
        if order_id is None:
            pipe.hmget(key, STAT_FIELDS)
            return
        if not order_lots:
            pipe.hmget(key, [*STAT_FIELDS, f"O{order_id}"])
        else:
            # The order's lots carry its ref: the whole record (at most ~HOT_LOTS lots, the rest
            # is in the cold tier) in one read.
            pipe.hgetall(key)
        # The order may be in the cold tier instead. Not atomic with the read above: the
        # request says whether an order was seen, and the script answers ``stale`` (read
        # again) when it finds otherwise.
        pipe.hget(k.cold_units(customer_id), f"O{order_id}")

    def armed(self, request: dict[str, Any]) -> dict[str, Any]:
        """``request`` as sent to its script: with the test-only ``lua.before_write`` failpoint
        when it fires on this pass (the script then raises just before its first write, in
        lib.lua's finish()), else unchanged."""
        if self._failpoints is not None and self._failpoints.hit(LUA_BEFORE_WRITE):
            return {**request, "fail": LUA_BEFORE_WRITE}
        return request

    async def _run(
        self, script: AsyncScript, keys: list[str], request: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return decode_reply(await script(keys=keys, args=[encode_request(self.armed(request))]))
        except ResponseError as error:
            raise ScriptError(str(error)) from error

    async def _retrying(self, attempt: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        for _ in range(self.max_attempts):
            reply = await attempt()
            if reply["status"] != "stale":
                return reply
            log.info("customer version moved (now %s), retrying", reply.get("version"))
        raise StaleVersionError(f"the customer kept changing over {self.max_attempts} attempts")

    async def apply(self, event: InputEvent, now: datetime) -> Outcome | LaunchOutcome:
        """Apply one input event at service time ``now``: one call per event, any kind."""
        if isinstance(event, CampaignLaunch):
            return await self.launch_campaign(event, now)
        return await self.run_call(self.call_for(event, now))

    async def apply_batch(
        self, events: Sequence[InputEvent], now: datetime
    ) -> list[Outcome | LaunchOutcome]:
        """Apply ``events`` (in order per customer) at ``now``: per shard, each wave of at most
        one event per customer costs one read and one script round trip (see ``batch``)."""
        return await batch.apply_batch(self, events, now)

    async def run_call(self, call: Call) -> Outcome:
        """Read what the call needs, run its script; retry from the read while ``stale``."""

        async def attempt() -> dict[str, Any]:
            seen = NOT_READ
            if call.reads:
                seen = await self.read_stats(
                    call.customer_id, call.order_id, order_lots=call.order_lots
                )
            return await self._run(call.script, call.keys, call.build(*seen))

        return outcome_from_reply(call.kind, call.event_id, await self._retrying(attempt))

    def call_for(
        self, event: Purchase | AppInstall | RedemptionRequest | RefundEvent, now: datetime
    ) -> Call:
        """The script call of one customer input event at ``now`` (no I/O)."""
        if isinstance(event, Purchase | AppInstall):
            return self._accrue_call(event, now)
        if isinstance(event, RedemptionRequest):
            return self._redeem_call(event, now)
        return self._refund_call(event, now)

    async def accrue(self, event: Purchase | AppInstall, now: datetime) -> Outcome:
        """A purchase (statistics, order record, lots) or an app install (lots)."""
        return await self.run_call(self._accrue_call(event, now))

    async def redeem(self, event: RedemptionRequest, now: datetime) -> Outcome:
        """All-or-nothing redemption against the active points at ``now``."""
        return await self.run_call(self._redeem_call(event, now))

    async def refund(self, event: RefundEvent, now: datetime) -> Outcome:
        """Claw back the order's lots: all, or the cumulative refunded share (floored)."""
        return await self.run_call(self._refund_call(event, now))

    def _accrue_call(self, event: Purchase | AppInstall, now: datetime) -> Call:
        is_purchase = isinstance(event, Purchase)
        kind = KIND_PURCHASE if is_purchase else KIND_INSTALL
        order_id = event.order_id if isinstance(event, Purchase) else None

        def build(version: int, stats: CustomerStats, order: StoredOrder | None) -> dict[str, Any]:
            plans = plan_accruals(event, self.rules, stats, kind)
            request: dict[str, Any] = {
                "digest": digest(event),
                "ttl": self._ttl,
                "ret": self._retention_ms,
                "customer": event.customer_id,
                "expect": version,
                "now": ms(now),
                "wday": self.warning_day(now),
                "hot": self._hot_lots,
                "src": event.event_id,
                "lots": [plan_request(p) for p in plans],
                "maxf": self._max_fields,
            }
            if isinstance(event, Purchase):
                after = apply_purchase(stats, event)
                assert after.last_purchase_at is not None  # noqa: S101 - set by a purchase
                request["stats"] = {
                    "n": after.purchases,
                    "t": format(after.total_amount, "f"),
                    "p": ms(after.last_purchase_at),
                }
                amount = event.amount + (order.amount if order is not None else 0)
                request["order"] = {
                    "id": event.order_id,
                    "amount": format(amount, "f"),
                    "seen": order is not None,
                }
            return request

        keys = self._keys(event.customer_id, kind, event.event_id)
        return Call(
            kind,
            event.event_id,
            event.customer_id,
            self.scripts.accrue,
            keys,
            True,
            order_id,
            build,
            # The order's amount only: its lots are not needed, and a big record is not read.
            order_lots=False,
        )

    def _redeem_call(self, event: RedemptionRequest, now: datetime) -> Call:
        request = {
            "digest": digest(event),
            "ttl": self._ttl,
            "ret": self._retention_ms,
            "customer": event.customer_id,
            "event": event.event_id,
            "order": event.order_id,
            "points": event.points,
            "now": ms(now),
            "wday": self.warning_day(now),
            "hot": self._hot_lots,
        }
        keys = self._keys(event.customer_id, KIND_REDEMPTION, event.event_id)
        return Call(
            KIND_REDEMPTION,
            event.event_id,
            event.customer_id,
            self.scripts.redeem,
            keys,
            False,
            None,
            lambda *_: request,
        )

    def _refund_call(self, event: RefundEvent, now: datetime) -> Call:
        def build(version: int, _: CustomerStats, order: StoredOrder | None) -> dict[str, Any]:
            request: dict[str, Any] = {
                "digest": digest(event),
                "ttl": self._ttl,
                "ret": self._retention_ms,
                "customer": event.customer_id,
                "expect": version,
                "now": ms(now),
                "wday": self.warning_day(now),
                "hot": self._hot_lots,
                "event": event.event_id,
                "order": event.order_id,
                "refunded": "0",
                "targets": {},
                "seen": order is not None,
            }
            if order is not None:
                after = order.amount if event.amount is None else order.refunded + event.amount
                after = min(after, order.amount)
                request["refunded"] = format(after, "f")
                request["targets"] = {
                    lot_id: max(clawed, clawback_points(orig, order.amount, after))
                    for lot_id, orig, clawed in order.lots
                }
            return request

        keys = self._keys(event.customer_id, KIND_REFUND, event.event_id)
        return Call(
            KIND_REFUND,
            event.event_id,
            event.customer_id,
            self.scripts.refund,
            keys,
            True,
            event.order_id,
            build,
        )

    async def grant_campaign(
        self, event: CampaignLaunch, customer_id: str, now: datetime
    ) -> Outcome:
        """Grant the campaign's lot to one customer if it is in the segment (idempotent)."""
        segment = self.rules.segments.get(event.segment)
        keys = self._keys(customer_id, None, event.event_id)

        async def attempt() -> dict[str, Any]:
            version, stats, _ = await self.read_stats(customer_id)
            if segment is None or not segment_matches(segment, stats, event.occurred_at):
                return {"status": "ignored", "reason": "not_in_segment"}
            request = self.grant_request(event, customer_id, version, now)
            return await self._run(self.scripts.grant, keys, request)

        return outcome_from_reply("campaigns", event.event_id, await self._retrying(attempt))

    async def launch_campaign(self, event: CampaignLaunch, now: datetime) -> LaunchOutcome:
        """Record a launch in the campaign registry; the shards' fan-out loops grant it.

        Idempotent: the same launch again is a duplicate, another launch with the same terms a
        relaunch (no-op); a segment the rules do not define, or other terms, are refused.
        """
        return await campaigns.record_launch(self, event, now)

    def grant_request(
        self, event: CampaignLaunch, customer_id: str, version: int, now: datetime
    ) -> dict[str, Any]:
        """The grant script's request for one customer seen at ``version``."""
        plan = plan_campaign_lot(event, customer_id, self.rules)
        return {
            "digest": digest(event),
            "ret": self._retention_ms,
            "event": event.event_id,
            "customer": customer_id,
            "expect": version,
            "now": ms(now),
            "wday": self.warning_day(now),
            "hot": self._hot_lots,
            "lot": plan_request(plan),
        }

    def campaign_keys(self, customer_id: str) -> list[str]:
        """The keys of the grant script for one customer."""
        return self._keys(customer_id, None, "")

    async def fanout_step(
        self, shard: int, now: datetime, batch: int = campaigns.FANOUT_BATCH
    ) -> list[campaigns.FanoutStep]:
        """Grant the next batch of every campaign pending in ``shard`` (see ``campaigns``)."""
        return await campaigns.fanout_step(self, shard, now, batch)

    async def campaign_status(self, campaign_id: str) -> campaigns.Registered | None:
        """A campaign's registry record (launch, shards done, total), None if never launched."""
        return await campaigns.read_registry(self, campaign_id)

    async def count_segment(self, name: str, at: datetime) -> tuple[int, int]:
        """(customers of segment ``name`` at ``at``, known customers) over every shard."""
        return await campaigns.count_segment(self, name, at)

    def warning_day(self, now: datetime) -> list[int]:
        """``[max_warnings_per_day, start of now's calendar day, start of the next]`` (epoch ms,
        the rules' time zone): what every script needs to apply the daily warning cap."""
        start, end = calendar_day(now, self.rules.timezone)
        return [self.rules.max_warnings_per_day, ms(start), ms(end)]

    async def fire_due(self, shard: int, now: datetime, limit: int = 100) -> list[Fired]:
        """Handle the due timers of up to ``limit`` customers of ``shard`` (one pipeline)."""
        return await self.fire(shard, await self.due_customers(shard, now, limit), now)

    async def due_customers(self, shard: int, now: datetime, limit: int = 100) -> list[str]:
        """Up to ``limit`` customers of ``shard`` whose timer is due at ``now``, earliest first."""
        k = self.keys(shard)
        return [
            text(c) for c in await self.client.zrangebyscore(k.timers, "-inf", ms(now), 0, limit)
        ]

    async def defer_timer(self, shard: int, customer_id: str, until: datetime) -> None:
        """Move the customer's timer entry to ``until`` (if it still has one): a customer whose
        fire script fails every time must not hold the shard's other timers."""
        await self.client.zadd(self.keys(shard).timers, {customer_id: ms(until)}, xx=True)

    async def fire(self, shard: int, due: Sequence[str], now: datetime) -> list[Fired]:
        """Run the fire script of each customer of ``due`` at ``now`` (one pipeline)."""
        k = self.keys(shard)
        if not due:
            return []
        args = [ms(now), self._retention_ms, *self.warning_day(now), self._hot_lots]
        runs = [
            ScriptRun(
                self.scripts.fire,
                [k.customer(customer_id), k.timers, k.outbox, k.names],
                [customer_id, *args],
            )
            for customer_id in due
        ]
        replies = await batch.run_scripts(self, runs)
        fired = []
        for customer_id, reply in zip(due, replies, strict=True):
            data = decode_reply(reply)
            fired.append(
                Fired(customer_id, int(data.get("version", 0)), int(data.get("events", 0)))
            )
        return fired

    async def customer_view(self, customer_id: str, now: datetime) -> CustomerView | None:
        """Balance, pending points, next expiry and the active and pending lots; None if unknown."""
        k = self.keys(self.shard_of(customer_id))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(k.customer(customer_id))
            pipe.hgetall(k.names)
            pipe.hgetall(k.cold_units(customer_id))
            record, names, cold = await pipe.execute()
        if not record:
            return None
        fields = {text(f): text(v) for f, v in record.items()}
        return build_view(
            customer_id,
            fields,
            {text(f): text(v) for f, v in names.items()},
            now,
            {text(f): text(v) for f, v in cold.items()},
        )

    async def read_outbox(self, shard: int, count: int = 500) -> list[OutboxEntry]:
        """The oldest ``count`` undelivered outbox entries of ``shard``, oldest first."""
        entries = await self.client.xrange(self.keys(shard).outbox, "-", "+", count=count)
        return [OutboxEntry.parse(entry_id, fields or {}) for entry_id, fields in entries or []]

    async def trim_outbox(self, shard: int, upto_id: str) -> int:
        """Drop the entries up to and including ``upto_id`` (delivered); returns how many."""
        ms_part, seq = upto_id.split("-")
        return int(
            await self.client.xtrim(
                self.keys(shard).outbox, minid=f"{ms_part}-{int(seq) + 1}", approximate=False
            )
        )
