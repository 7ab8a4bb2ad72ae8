"""What the "Coffee & Crumbs" café chain sells, in roubles.

The SKUs and categories are those ``deploy/rules.example.yaml`` rewards (desserts, the winter
menu, the web shop), beside everyday items that no targeted rule names, so that a percentage of
"only the desserts" is visibly different from a percentage of the whole order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One thing on sale."""

    sku: str
    category: str
    price: Decimal


def _items(category: str, *priced: tuple[str, str]) -> tuple[MenuItem, ...]:
    return tuple(MenuItem(sku, category, Decimal(price)) for sku, price in priced)


COFFEE: Final = _items(
    "coffee",
    ("espresso-30", "150"),
    ("cappuccino-300", "250"),
    ("flat-white-250", "280"),
    ("latte-400", "290"),
    ("raf-400", "320"),
)
DESSERTS: Final = _items(
    "dessert",
    ("cheesecake", "320"),
    ("eclair", "220"),
    ("honey-cake", "350"),
    ("macaron-set-6", "480"),
)
WINTER_DRINKS: Final = _items(
    "winter-drinks",
    ("mulled-cider-300", "260"),
    ("gingerbread-latte-400", "330"),
    ("cocoa-marshmallow-300", "290"),
)
FOOD: Final = _items(
    "food",
    ("croissant", "180"),
    ("chicken-sandwich", "390"),
    ("quiche-lorraine", "420"),
    ("porridge", "240"),
)
WEB_SHOP: Final = _items(
    "web-shop",
    ("beans-ethiopia-1kg", "2200"),
    ("beans-brazil-250g", "690"),
    ("drip-bags-10", "900"),
    ("gift-box", "3500"),
    ("ceramic-cup", "1200"),
)
