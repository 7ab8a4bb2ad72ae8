"""What a guest orders on one visit, from their habits and a random source."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

from schemas.inputs import PurchaseItem
from streams.demo.menu import COFFEE, DESSERTS, FOOD, WEB_SHOP, WINTER_DRINKS, MenuItem
from streams.demo.population import Customer

# A team order of a VIP must keep the average check above the VIP segment's 1500 roubles.
TEAM_ORDER_MINIMUM = Decimal(1600)
# The earlier visits of a dormant guest must make the average check of a "good guest" (800).
GOOD_GUEST_MINIMUM = Decimal(900)


def total(items: Sequence[PurchaseItem]) -> Decimal:
    """What the items cost together."""
    return sum((item.unit_price * item.quantity for item in items), Decimal(0))


def cafe_order(customer: Customer, rng: random.Random) -> tuple[PurchaseItem, ...]:
    """A counter or in-app order: a drink (coffee or the winter menu), often a dessert."""
    lines: dict[MenuItem, int] = {}
    drink = WINTER_DRINKS if rng.random() < customer.winter_liking else COFFEE
    _add(lines, rng.choice(drink), rng.choice((1, 1, 1, 2)))
    if rng.random() < customer.dessert_liking:
        _add(lines, rng.choice(DESSERTS), rng.choice((1, 1, 2)))
    if rng.random() < 0.3:
        _add(lines, rng.choice(FOOD), 1)
    return _items(lines)


def team_order(
    customer: Customer, rng: random.Random, minimum: Decimal = TEAM_ORDER_MINIMUM
) -> tuple[PurchaseItem, ...]:
    """A big order for several people, worth at least ``minimum``."""
    lines: dict[MenuItem, int] = {}
    _add(lines, rng.choice(COFFEE), rng.randint(2, 4))
    if rng.random() < customer.winter_liking:
        _add(lines, rng.choice(WINTER_DRINKS), rng.randint(1, 3))
    _add(lines, rng.choice(DESSERTS), rng.randint(1, 3))
    _add(lines, rng.choice(FOOD), rng.randint(1, 3))
    while total(_items(lines)) < minimum:
        _add(lines, rng.choice(FOOD), 1)
    return _items(lines)


def web_order(rng: random.Random) -> tuple[PurchaseItem, ...]:
    """A web-shop order: beans, drip bags, cups, gift boxes."""
    lines: dict[MenuItem, int] = {}
    for _ in range(rng.randint(1, 3)):
        _add(lines, rng.choice(WEB_SHOP), rng.choice((1, 1, 2)))
    return _items(lines)


def _add(lines: dict[MenuItem, int], item: MenuItem, quantity: int) -> None:
    lines[item] = lines.get(item, 0) + quantity


def _items(lines: dict[MenuItem, int]) -> tuple[PurchaseItem, ...]:
    return tuple(
        PurchaseItem(sku=item.sku, category=item.category, quantity=quantity, unit_price=item.price)
        for item, quantity in lines.items()
    )
