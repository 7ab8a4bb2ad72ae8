"""The café's guests: who they are and what habits drive their traffic, from a seed.

The same seed and size always give the same guests with the same habits and ids, so a demo can
be replayed exactly (``bonus demo --seed N``), while another seed gives new customer ids that
carry no state from an earlier run.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Habit(StrEnum):
    """A kind of guest; each exercises different rules of the café's programme."""

    REGULAR = "regular"  # a few visits a week: coffee and often a dessert
    VIP = "vip"  # almost daily, orders for the team: high checks, becomes a VIP
    ONE_OFF = "one-off"  # comes once (first-order bonus, then burns)
    DORMANT = "dormant"  # a good guest from months ago who comes back (win-back)
    WEB = "web"  # buys beans and gift boxes in the web shop (delayed activation, returns)


# Shares of the population; every habit gets at least one guest when there are enough guests.
SHARES: Final = {
    Habit.REGULAR: 0.45,
    Habit.VIP: 0.08,
    Habit.ONE_OFF: 0.25,
    Habit.DORMANT: 0.07,
    Habit.WEB: 0.15,
}


@dataclass(frozen=True, slots=True)
class Customer:
    """One guest and the parameters of their habits."""

    customer_id: str
    habit: Habit
    visits_per_week: float  # café visits; 0 for guests who only come once or only buy online
    app_share: float  # share of café orders paid in the mobile app instead of at the counter
    dessert_liking: float  # chance that a café order has a dessert
    winter_liking: float  # chance that a café order has a drink of the winter menu
    installs: tuple[str, ...]  # apps installed during the demo (telegram-bot, mobile-app)
    redeem_chance: float  # chance to pay part of an order with points when there are some
    greed: float  # chance that a redemption asks for more points than there are
    refund_chance: float  # chance that an order is returned later
    web_orders: int  # web-shop orders over a month


def seed_tag(seed: int) -> str:
    """A short tag of the seed that goes into every id, so runs with other seeds never collide."""
    return hashlib.blake2b(str(seed).encode(), digest_size=3).hexdigest()


def customer_rng(seed: int, customer_id: str) -> random.Random:
    """The random source of one guest: independent of the others and of the population size."""
    # Not cryptographic on purpose: a demo must replay exactly from its seed.
    return random.Random(f"{seed}:{customer_id}")  # noqa: S311


def habit_counts(size: int) -> dict[Habit, int]:
    """How many guests of each habit a population of ``size`` has (largest remainders)."""
    if size < 0:
        raise ValueError("a population has a non-negative size")
    exact = {habit: share * size for habit, share in SHARES.items()}
    counts = {habit: int(value) for habit, value in exact.items()}
    if size >= len(SHARES):
        for habit, count in counts.items():
            counts[habit] = max(count, 1)
    by_remainder = sorted(SHARES, key=lambda h: exact[h] - int(exact[h]), reverse=True)
    while sum(counts.values()) < size:
        for habit in by_remainder:
            if sum(counts.values()) < size:
                counts[habit] += 1
    while sum(counts.values()) > size:
        largest = max(counts, key=lambda h: counts[h])
        counts[largest] -= 1
    return counts


def build_population(seed: int, size: int) -> list[Customer]:
    """``size`` guests with habits, deterministic for ``seed``."""
    tag = seed_tag(seed)
    customers = []
    number = 0
    for habit, count in habit_counts(size).items():
        for _ in range(count):
            number += 1
            customer_id = f"{habit.value}-{tag}-{number:04d}"
            customers.append(_customer(customer_id, habit, customer_rng(seed, customer_id)))
    return customers


def _installs(rng: random.Random, telegram: float, mobile: float) -> tuple[str, ...]:
    apps = []
    if rng.random() < telegram:
        apps.append("telegram-bot")
        if rng.random() < 0.15:
            # Reinstalls happen: the once-per-customer limit must keep the second one pointless.
            apps.append("telegram-bot")
    if rng.random() < mobile:
        apps.append("mobile-app")
    return tuple(apps)


def _customer(customer_id: str, habit: Habit, rng: random.Random) -> Customer:
    if habit is Habit.REGULAR:
        return Customer(
            customer_id,
            habit,
            visits_per_week=rng.uniform(2, 4),
            app_share=rng.choice((0.0, 0.1, 0.3)),
            dessert_liking=rng.uniform(0.5, 0.9),
            winter_liking=rng.uniform(0.1, 0.5),
            installs=_installs(rng, 0.5, 0.4),
            redeem_chance=rng.uniform(0.2, 0.5),
            greed=0.08,
            refund_chance=0.02,
            web_orders=0,
        )
    if habit is Habit.VIP:
        return Customer(
            customer_id,
            habit,
            visits_per_week=rng.uniform(5, 7),
            app_share=rng.choice((0.2, 0.4)),
            dessert_liking=0.9,
            winter_liking=rng.uniform(0.3, 0.7),
            installs=_installs(rng, 0.7, 0.6),
            redeem_chance=rng.uniform(0.3, 0.6),
            greed=0.05,
            refund_chance=0.03,
            web_orders=rng.choice((0, 1)),
        )
    if habit is Habit.ONE_OFF:
        return Customer(
            customer_id,
            habit,
            visits_per_week=0,
            app_share=0,
            dessert_liking=rng.uniform(0.2, 0.6),
            winter_liking=0.3,
            installs=_installs(rng, 0.1, 0.05),
            redeem_chance=0.05,
            greed=0.5,
            refund_chance=0.02,
            web_orders=0,
        )
    if habit is Habit.DORMANT:
        return Customer(
            customer_id,
            habit,
            visits_per_week=rng.uniform(0.5, 1.5),
            app_share=0.1,
            dessert_liking=0.6,
            winter_liking=0.4,
            installs=_installs(rng, 0.3, 0.2),
            redeem_chance=0.4,
            greed=0.1,
            refund_chance=0.02,
            web_orders=0,
        )
    return Customer(
        customer_id,
        habit,
        visits_per_week=rng.choice((0.0, 0.5)),
        app_share=0,
        dessert_liking=0.3,
        winter_liking=0.2,
        installs=_installs(rng, 0.2, 0.3),
        redeem_chance=0.3,
        greed=0.1,
        refund_chance=0.25,
        web_orders=rng.randint(1, 3),
    )
