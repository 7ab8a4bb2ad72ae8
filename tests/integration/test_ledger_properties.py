"""Property test: random interleavings of purchases, installs, redemptions, refunds, exact and
conflicting repeats and clock advances, driven through the real Redis ledger and compared after
every step with a small reference model (built on the pure core's reference functions), under
a daily warning cap of 1 or 2 and calendar days of UTC or Moscow."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.inputs import AppInstall, Purchase, RedemptionRequest, Refund
from streams.core.accrual import plan_accruals
from streams.core.clawback import clawback_points
from streams.core.model import CustomerStats, WarningPlan
from streams.core.redemption import LotBalance, allocate
from streams.core.segments import apply_purchase
from streams.core.warnings import WarnableLot, WarningTally, calendar_day, fire_due_warnings
from streams.ledger import ClawedBack, Conflict, Duplicate, Redeemed
from streams.ledger.codec import text
from streams.ledger.keys import HOT_LOTS
from streams.ledger.view import origin_code, stored_lots
from streams.rules.model import RulesFile
from tests.integration.ledger_harness import (
    T0,
    Harness,
    install,
    open_harness,
    purchase,
    redemption,
    refund,
    rules,
)

CUSTOMERS = ("ann", "bob", "cy")
RETENTION = timedelta(days=30)
Event = Purchase | AppInstall | RedemptionRequest | Refund


@dataclass
class Lot:
    left: int
    issued: datetime
    act: datetime
    exp: datetime
    warnings: tuple[WarningPlan, ...]
    warned: frozenset[str] = frozenset()


@dataclass
class Order:
    amount: Decimal
    deadline: datetime
    lots: dict[str, tuple[int, int]]  # lot id -> (original, clawed)
    refunded: Decimal = Decimal(0)


@dataclass
class Customer:
    stats: CustomerStats = field(default_factory=CustomerStats)
    lots: dict[str, Lot] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    grants: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)
    once: set[str] = field(default_factory=set)
    totals: Counter[str] = field(default_factory=Counter)
    warned_today: WarningTally | None = None  # warnings sent on the latest day with any

    def balance(self, now: datetime) -> tuple[int, int]:
        live = [lot for lot in self.lots.values() if lot.exp > now]
        return (
            sum(lot.left for lot in live if lot.act <= now),
            sum(lot.left for lot in live if lot.act > now),
        )


class Model:
    """The reference: what the ledger must do, written plainly."""

    def __init__(self, rules: RulesFile) -> None:
        self.rules = rules
        self.customers = {c: Customer() for c in CUSTOMERS}
        self.seen: dict[tuple[str, str], Event] = {}
        self.out: list[tuple[Any, ...]] = []

    def advance(self, c: Customer, now: datetime) -> None:
        warnable = [
            WarnableLot(i, lot.left, lot.exp, lot.warnings, lot.warned) for i, lot in c.lots.items()
        ]
        tz, per_day = self.rules.timezone, self.rules.max_warnings_per_day
        start, _ = calendar_day(now, tz)
        tally = c.warned_today or WarningTally(start)
        groups, updated = fire_due_warnings(warnable, now, tally.cap(per_day, now, tz))
        if groups:
            c.warned_today = tally.add(len(groups), now, tz)
        for w in updated:
            c.lots[w.lot_id].warned = w.warned
        for g in groups:
            ids = tuple(lot.lot_id for lot in g.lots)
            self.out.append(("warning", g.lead, ids, g.points_expiring, g.expires_at))
        for lot_id, lot in list(c.lots.items()):
            if lot.exp <= now:
                self.out.append(("burned", lot_id, lot.left))
                c.totals["burned"] += lot.left
                del c.lots[lot_id]
        c.orders = {k: o for k, o in c.orders.items() if o.deadline > now}

    def accrue(self, event: Purchase | AppInstall, now: datetime) -> None:
        c = self.customers[event.customer_id]
        kind = "purchases" if isinstance(event, Purchase) else "app-installs"
        made: dict[str, tuple[int, int]] = {}
        latest = None
        for plan in plan_accruals(event, self.rules, c.stats, kind):
            origin = str(plan.rule_id)
            points = plan.points
            if plan.once_per_customer and origin in c.once:
                continue
            if plan.cap is not None:
                since = plan.cap.window_start
                used = sum(p for at, p in c.grants.get(origin, []) if at >= since)
                points = min(points, plan.cap.max_points - used)
                if points <= 0:
                    continue
                c.grants.setdefault(origin, []).append((plan.issued_at, points))
            if plan.once_per_customer:
                c.once.add(origin)
            lot = Lot(points, plan.issued_at, plan.activates_at, plan.expires_at, plan.warnings)
            c.lots[plan.lot_id] = lot
            c.totals["accrued"] += points
            made[plan.lot_id] = (points, 0)
            latest = max(latest or plan.expires_at, plan.expires_at)
            self.out.append(("accrued", plan.lot_id, points))
        if isinstance(event, Purchase):
            c.stats = apply_purchase(c.stats, event)
            if made and latest is not None:
                c.orders[event.order_id] = Order(event.amount, latest + RETENTION, made)
        self.advance(c, now)

    def redeem(self, event: RedemptionRequest, now: datetime) -> str:
        c = self.customers[event.customer_id]
        self.advance(c, now)
        balances = [LotBalance(i, x.left, x.issued, x.act, x.exp) for i, x in c.lots.items()]
        taken = allocate(balances, event.points, now)
        if taken is None:
            self.out.append(("redemption", event.event_id, "rejected", ()))
            return "rejected"
        for lot_id, points in taken:
            c.lots[lot_id].left -= points
            if c.lots[lot_id].left == 0:
                del c.lots[lot_id]
        c.totals["redeemed"] += event.points
        self.out.append(("redemption", event.event_id, "accepted", tuple(taken)))
        return "accepted"

    def refund(self, event: Refund, now: datetime) -> str:
        c = self.customers[event.customer_id]
        self.advance(c, now)
        order = c.orders.get(event.order_id)
        if order is None:
            return "unknown_order"
        after = order.amount if event.amount is None else order.refunded + event.amount
        order.refunded = min(after, order.amount)
        for lot_id, (orig, clawed) in order.lots.items():
            due = clawback_points(orig, order.amount, order.refunded) - clawed
            if due > 0:
                lot = c.lots.get(lot_id)
                take = min(due, lot.left) if lot else 0
                if lot is not None:
                    lot.left -= take
                    if lot.left == 0:
                        del c.lots[lot_id]
                c.totals["clawed_back"] += take
                order.lots[lot_id] = (orig, clawed + due)
                self.out.append(("clawed_back", lot_id, due, due - take))
        return "applied"


def observed(h: Harness) -> tuple[list[tuple[Any, ...]], list[tuple[str, int, int, int]]]:
    """The outbox entries of every shard since the last call (then trimmed), as model tuples,
    and the balance snapshots as (customer, version, balance, pending)."""
    events: list[tuple[Any, ...]] = []
    snapshots = []
    for shard in range(h.ledger.partitions):
        entries = h.run(h.ledger.read_outbox(shard, 10_000))
        for e in entries:
            d = e.data
            if e.type == "accrued":
                events.append(("accrued", d["lot"], int(d["pts"])))
            elif e.type == "burned":
                events.append(("burned", d["lot"], int(d["pts"])))
            elif e.type == "warning":
                ids = tuple(x["lot"] for x in d["lots"])
                events.append(("warning", d["lead"], ids, int(d["pts"]), _at(d["exp"])))
            elif e.type == "clawed_back":
                events.append(("clawed_back", d["lot"], int(d["pts"]), int(d["unrec"])))
            elif e.type == "redemption":
                lots = tuple((x["lot"], int(x["pts"])) for x in d["lots"] or [])
                events.append(("redemption", d["req"], d["status"], lots))
            else:
                snapshots.append((e.customer_id, int(d["v"]), int(d["bal"]), int(d["pend"])))
        if entries:
            h.run(h.ledger.trim_outbox(shard, entries[-1].id))
    return events, snapshots


def _at(ms: str) -> datetime:
    return T0 + timedelta(milliseconds=int(ms) - int(T0.timestamp() * 1000))


# Coarse times make ties likely: equal deadlines, a deadline exactly at a coalescing limit or
# at the start of a day (10 and 13 hours late: UTC and Moscow midnights).
HOURS = (0, 10, 12, 13, 24, 36, 72, 264, 300, 324, 360)
# Lots made inside their warning windows: warned at once, several a day, so the daily cap bites.
LATE = (250, 264, 280, 300, 324)
customers = st.sampled_from(CUSTOMERS)


def _purchases(hours: tuple[int, ...]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(
        st.just("purchase"),
        customers,
        st.sampled_from([100, 500, 1500, 2500, 4000]),
        st.booleans(),
        st.sampled_from(hours).map(lambda h: timedelta(hours=h)),
    )


purchases = _purchases(HOURS)
operations = st.one_of(
    purchases,
    purchases,
    _purchases(LATE),
    st.tuples(
        st.just("install"),
        customers,
        st.sampled_from(["telegram-bot", "other"]),
        st.sampled_from(HOURS).map(lambda h: timedelta(hours=h)),
    ),
    st.tuples(st.just("redeem"), customers, st.integers(1, 700)),
    st.tuples(
        st.just("refund"),
        customers,
        st.integers(0, 5),
        st.sampled_from([None, "100", "250", "1000"]),
    ),
    st.tuples(st.just("repeat"), st.integers(0, 1000), st.booleans()),
    st.tuples(
        st.just("advance"),
        st.sampled_from([6, 12, 24, 36, 72, 168]).map(lambda h: timedelta(hours=h)),
    ),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(operations, min_size=1, max_size=40),
    per_day=st.sampled_from([1, 2]),
    zone=st.sampled_from(["UTC", "Europe/Moscow"]),
)
def test_ledger_matches_the_reference_model(
    redis_url: str, key_prefix: str, ops: list[Any], per_day: int, zone: str
) -> None:
    run_against_model(redis_url, key_prefix, ops, per_day, zone, HOT_LOTS)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # More purchases: about half the examples then move units out (and back) at least once.
    ops=st.lists(st.one_of(purchases, purchases, operations), min_size=8, max_size=40),
    per_day=st.sampled_from([1, 2]),
    zone=st.sampled_from(["UTC", "Europe/Moscow"]),
)
def test_the_cold_tier_changes_nothing_the_model_sees(
    redis_url: str, key_prefix: str, ops: list[Any], per_day: int, zone: str
) -> None:
    # Records of more than 2 lots move units into their cold tier (keys.py "Cold tier"): the
    # same reference model must hold, every read of the view and stored lots included.
    run_against_model(redis_url, key_prefix, ops, per_day, zone, hot_lots=2)


def test_the_cold_tier_is_used_and_matches_the_model(redis_url: str, key_prefix: str) -> None:
    # A fixed history that moves units out and back (redemptions pull them, refunds find their
    # orders, timers wake them to warn and burn), checked against the model at every step.
    ops: list[Any] = [("purchase", "ann", 1500, False, timedelta(0)) for _ in range(6)]
    ops += [("advance", timedelta(hours=24)), ("redeem", "ann", 60)]
    ops += [("purchase", "ann", 2500, True, timedelta(0)) for _ in range(4)]
    ops += [("refund", "ann", 1, None), ("refund", "ann", 7, "1000"), ("redeem", "ann", 500)]
    ops += [("advance", timedelta(hours=h)) for h in (72, 168, 168, 168, 168)]
    assert run_against_model(redis_url, key_prefix, ops, 1, "UTC", hot_lots=2) > 0


def run_against_model(
    redis_url: str, key_prefix: str, ops: list[Any], per_day: int, zone: str, hot_lots: int
) -> int:
    """Apply ``ops`` to the ledger and to the model, comparing after every step; returns after
    how many steps some customer had units in its cold tier."""
    prefix = f"{key_prefix}{uuid.uuid4().hex[:6]}:"
    chosen = rules(max_warnings_per_day=per_day, timezone=ZoneInfo(zone))
    model = Model(chosen)
    now = T0
    history: list[Event] = []
    versions: Counter[str] = Counter()
    last_snapshot: dict[str, tuple[int, int]] = {}
    cold_steps = 0
    with open_harness(redis_url, prefix, partitions=2, rules_file=chosen, hot_lots=hot_lots) as h:
        for step, op in enumerate(ops):
            model.out = []
            kind = op[0]
            event: Event | None = None
            if kind == "purchase":
                _, who, amount, web, lag = op
                event = purchase(
                    f"p{step}", who, amount, now - lag, channel="web" if web else "pos"
                )
            elif kind == "install":
                event = install(f"i{step}", op[1], now - op[3], app=op[2])
            elif kind == "redeem":
                event = redemption(f"r{step}", op[1], op[2], now)
            elif kind == "refund":
                orders = [
                    e.order_id
                    for e in history
                    if isinstance(e, Purchase) and e.customer_id == op[1]
                ]
                order = orders[op[2]] if op[2] < len(orders) else "unknown"
                event = refund(f"f{step}", op[1], order, op[3], now)
            elif kind == "repeat" and history:
                original = history[op[1] % len(history)]
                event = original if not op[2] else _changed(original)
            elif kind == "advance":
                now += op[1]
                for shard in range(h.ledger.partitions):
                    # Bounded: a timer left in the past (a deferred warning) would loop forever.
                    rounds = 0
                    while h.run(h.ledger.fire_due(shard, now, 1000)):
                        rounds += 1
                        assert rounds < 3, "a customer's timer stays due after firing"
                for c in model.customers.values():
                    model.advance(c, now)
            if event is not None:
                outcome = h.run(h.ledger.apply(event, now))
                source = "purchases" if isinstance(event, Purchase) else type(event).__name__
                before = model.seen.get((source, event.event_id))
                if before is not None:
                    assert isinstance(outcome, Duplicate if before == event else Conflict)
                else:
                    model.seen[(source, event.event_id)] = event
                    history.append(event)
                    if isinstance(event, Purchase | AppInstall):
                        model.accrue(event, now)
                    elif isinstance(event, RedemptionRequest):
                        status = model.redeem(event, now)
                        assert isinstance(outcome, Redeemed)
                        assert outcome.status == status
                    else:
                        status = model.refund(event, now)
                        assert isinstance(outcome, ClawedBack)
                        assert outcome.status == status
            events, snapshots = observed(h)
            assert sorted(events, key=repr) == sorted(model.out, key=repr), (step, op)
            for who, version, bal, pend in snapshots:
                versions[who] += 1
                assert version == versions[who]
                last_snapshot[who] = (bal, pend)
            if kind == "advance":
                # Every due timer fired: activations and burns were announced.
                for who, c in model.customers.items():
                    assert last_snapshot.get(who, (0, 0)) == c.balance(now), (step, who)
            cold = [
                _check_customer(h, who, c, now, [s for s in snapshots if s[0] == who])
                for who, c in model.customers.items()
            ]
            cold_steps += any(cold)
    return cold_steps


def _check_customer(
    h: Harness, who: str, c: Customer, now: datetime, snapshots: list[tuple[str, int, int, int]]
) -> bool:
    """Compare a customer's view and stored lots with the model; has it a cold tier?"""
    view = h.run(h.ledger.customer_view(who, now))
    expected = sorted(
        (i, lot.left, "active" if lot.act <= now else "pending")
        for i, lot in c.lots.items()
        if lot.exp > now
    )
    balance, pending = c.balance(now)
    if view is None:
        assert expected == []
        assert not c.totals
        return False
    assert sorted((x.lot_id, x.points, x.status) for x in view.lots) == expected
    assert (view.balance, view.pending) == (balance, pending)
    assert {k: v for k, v in view.totals.items() if v} == {k: v for k, v in c.totals.items() if v}
    if snapshots:
        assert snapshots[-1][2:] == (balance, pending)
    # Conservation over every stored lot, expired-but-not-yet-burned ones included.
    keys = h.ledger.keys(h.ledger.shard_of(who))
    record = h.run(h.client.hgetall(keys.customer(who)))
    names = {text(f): text(v) for f, v in h.run(h.client.hgetall(keys.names)).items()}
    cold = {text(f): text(v) for f, v in h.run(h.client.hgetall(keys.cold_units(who))).items()}
    lots = stored_lots({text(f): text(v) for f, v in record.items()}, names, cold)
    stored = [lot.points for lot in lots]
    assert all(points >= 0 for points in stored)
    # A lot with nothing left is kept only for its order (refunds) or its rule's cap.
    for lot in lots:
        if lot.points == 0:
            shape = names[f"#{lot.shape}"]
            assert lot.order_ref is not None or shape.split(",")[1] == "c", (lot, shape)
            assert f"#{origin_code(lot.shape, names)}" in names
    t = view.totals
    assert t["accrued"] == t["redeemed"] + t["burned"] + t["clawed_back"] + sum(stored)
    return bool(cold)


def _changed(event: Event) -> Event:
    if isinstance(event, Purchase):
        return event.model_copy(update={"amount": event.amount + 1})
    if isinstance(event, AppInstall):
        return event.model_copy(update={"app": event.app + "-x"})
    if isinstance(event, RedemptionRequest):
        return event.model_copy(update={"points": event.points + 1})
    return event.model_copy(update={"amount": Decimal(7) if event.amount is None else None})
