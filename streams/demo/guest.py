"""One guest's month: visits, web orders, installs, redemptions and refunds, in time order.

Each guest draws from their own random source, keeps a :class:`Wallet` of what the core says
they hold, and decides from it how many points to spend. Dormant guests first get their visits
of two to three months ago, sent late at the start of the demo: that history is what makes them
"good guests who have been away" when they come back.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from schemas.inputs import AppInstall, InputEvent, Purchase, PurchaseItem, RedemptionRequest, Refund
from streams.demo.baskets import GOOD_GUEST_MINIMUM, cafe_order, team_order, total, web_order
from streams.demo.population import Customer, Habit
from streams.demo.wallet import Wallet
from streams.rules.model import RulesFile

Action = Literal["history", "visit", "web", "install", "refund"]
OPENS, CLOSES = time(8, 0), time(21, 30)
STORES = ("store-arbat", "store-tverskaya", "store-kitay-gorod", "store-patriki")


@dataclass(frozen=True, slots=True)
class Planned:
    """An input event of one guest at its simulated time."""

    at: datetime
    event: InputEvent
    history: bool = False  # sent late, at the start: the guest's visits before the demo


@dataclass
class GuestSim:
    """Simulates one guest between ``start`` and ``end``."""

    customer: Customer
    rules: RulesFile
    rng: random.Random
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        self.tz: ZoneInfo = self.rules.timezone
        self.wallet = Wallet(self.rules)
        self.counters: dict[str, int] = {}
        self.orders: dict[str, tuple[Decimal, str]] = {}  # order id -> amount, channel

    def events(self) -> list[Planned]:
        """Every event of this guest, in time order."""
        agenda: list[tuple[datetime, int, Action, str]] = []
        order = itertools.count()  # ties keep the order of planning
        for at, action, detail in self._intentions():
            heapq.heappush(agenda, (at, next(order), action, detail))
        planned: list[Planned] = []
        while agenda:
            at, _, action, detail = heapq.heappop(agenda)
            if action == "install":
                planned.append(Planned(at, self._install(at, detail)))
            elif action == "refund":
                planned.append(Planned(at, self._refund(at, detail)))
            else:
                planned.extend(self._purchase(at, action))
                if action != "history" and self.rng.random() < self._refund_chance(action):
                    order_id = self._order_id(self.counters["o"])
                    later = at + timedelta(hours=self.rng.uniform(2, 24 * 6))
                    if later < self.end:
                        heapq.heappush(agenda, (later, next(order), "refund", order_id))
        return planned

    def _intentions(self) -> list[tuple[datetime, Action, str]]:
        c, rng = self.customer, self.rng
        found: list[tuple[datetime, Action, str]] = []
        first_visit = self.start
        if c.habit is Habit.DORMANT:
            for _ in range(rng.randint(2, 4)):
                day = rng.randint(62, 100)  # last visit 62+ days ago: dormant for 60 whole days
                found.append((self._open_hours(self.start - timedelta(days=day)), "history", ""))
            first_visit = self._moment(0.0, 0.6)
            found.append((first_visit, "visit", ""))
            # Back for good: the regular visits start the day after the return.
            first_visit += timedelta(days=1)
        if c.habit is Habit.ONE_OFF:
            found.append((self._moment(0.0, 1.0), "visit", ""))
        found += [(at, "visit", "") for at in self._visit_days(first_visit)]
        found += [(self._moment(0.0, 1.0), "web", "") for _ in range(c.web_orders)]
        for app in c.installs:
            found.append((self._moment(0.0, 1.0), "install", app))
        return found

    def _visit_days(self, after: datetime) -> list[datetime]:
        chance = min(1.0, self.customer.visits_per_week / 7)
        day = after.astimezone(self.tz).date()
        visits = []
        while chance > 0 and datetime.combine(day, OPENS, self.tz) < self.end:
            if self.rng.random() < chance:
                at = self._open_hours(datetime.combine(day, OPENS, self.tz))
                if self.start <= at < self.end:
                    visits.append(at)
            day += timedelta(days=1)
        return visits

    def _open_hours(self, day: datetime) -> datetime:
        local = day.astimezone(self.tz).date()
        opens = datetime.combine(local, OPENS, self.tz)
        span = (datetime.combine(local, CLOSES, self.tz) - opens).total_seconds()
        return opens + timedelta(seconds=int(self.rng.uniform(0, span)))

    def _moment(self, low: float, high: float) -> datetime:
        """A moment between the given shares of the simulated period, in opening hours."""
        length = (self.end - self.start).total_seconds()
        for _ in range(10):
            at = self._open_hours(
                self.start + timedelta(seconds=self.rng.uniform(low, high) * length)
            )
            if self.start <= at < self.end:
                return at
        return self.start

    def _next_id(self, letter: str) -> str:
        self.counters[letter] = self.counters.get(letter, 0) + 1
        return f"{self.customer.customer_id}-{letter}{self.counters[letter]:03d}"

    def _order_id(self, number: int) -> str:
        return f"{self.customer.customer_id}-o{number:03d}"

    def _refund_chance(self, action: Action) -> float:
        return self.customer.refund_chance * (2 if action == "web" else 1)

    def _purchase(self, at: datetime, action: Action) -> list[Planned]:
        c, rng = self.customer, self.rng
        items: tuple[PurchaseItem, ...]
        if action == "web":
            items, channel = web_order(rng), "web"
        elif action == "history":
            items, channel = team_order(c, rng, GOOD_GUEST_MINIMUM), "pos"
        else:
            big = c.habit is Habit.VIP
            items = team_order(c, rng) if big else cafe_order(c, rng)
            channel = "app" if rng.random() < c.app_share else "pos"
        amount = total(items)
        self._next_id("o")
        order_id = self._order_id(self.counters["o"])
        planned = []
        if action != "history":
            redemption = self._redemption(at, order_id, amount)
            if redemption is not None:
                planned.append(Planned(at, redemption))
        purchase = Purchase(
            event_id=self._next_id("p"),
            occurred_at=at + timedelta(seconds=30),
            customer_id=c.customer_id,
            order_id=order_id,
            amount=amount,
            currency="RUB",
            channel=channel,
            store_id=rng.choice(STORES) if channel == "pos" else None,
            items=items,
        )
        self.wallet.earn(purchase)
        self.orders[order_id] = (amount, channel)
        planned.append(Planned(purchase.occurred_at, purchase, history=action == "history"))
        return planned

    def _redemption(self, at: datetime, order_id: str, amount: Decimal) -> RedemptionRequest | None:
        c, rng = self.customer, self.rng
        if rng.random() >= c.redeem_chance:
            return None
        balance = self.wallet.active(at)
        if rng.random() < c.greed:
            points = balance + rng.randint(50, 500)  # more than there is: rejected
        elif balance >= 50:
            points = min(balance, int(amount / 2), rng.choice((50, 100, 200, balance)))
        else:
            return None
        if points <= 0:
            return None
        self.wallet.redeem(points, at)
        return RedemptionRequest(
            event_id=self._next_id("r"),
            occurred_at=at,
            customer_id=c.customer_id,
            order_id=order_id,
            points=points,
        )

    def _install(self, at: datetime, app: str) -> AppInstall:
        install = AppInstall(
            event_id=self._next_id("i"),
            occurred_at=at,
            customer_id=self.customer.customer_id,
            app=app,
            platform=self.rng.choice(("ios", "android")),
        )
        self.wallet.earn(install)
        return install

    def _refund(self, at: datetime, order_id: str) -> Refund:
        order_amount, _ = self.orders[order_id]
        amount: Decimal | None = None
        if self.rng.random() < 0.4:
            # A partial return: one item of the order, or a part of it.
            share = Decimal(self.rng.randint(20, 60)) / 100
            amount = (order_amount * share).quantize(Decimal("0.01"))
        self.wallet.refund(order_id, amount)
        return Refund(
            event_id=self._next_id("f"),
            occurred_at=at,
            customer_id=self.customer.customer_id,
            order_id=order_id,
            amount=amount,
        )
