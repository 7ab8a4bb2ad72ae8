"""Where a purchase or an app install becomes lots: rule matching and points arithmetic.

Every matching rule of the event's kind makes its own lot (rules stack). The plans returned
here come before the per-customer limits: the ledger applies ``once_per_customer`` and the
``max_points`` cap atomically (see :func:`capped_points`), because only it sees the
customer's other lots, including those of events in the same batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from decimal import ROUND_FLOOR, Decimal, localcontext

from schemas.inputs import AppInstall, CampaignLaunch, Purchase, PurchaseItem
from streams.core.deadlines import lot_window, warning_plans
from streams.core.ids import SOURCE_CAMPAIGNS, lot_id
from streams.core.model import CapPlan, CustomerStats, LotPlan
from streams.core.segments import segment_matches
from streams.rules.model import EventKind, Rule, RulesFile, When


def plan_accruals(
    event: Purchase | AppInstall, rules: RulesFile, stats: CustomerStats, source: str
) -> list[LotPlan]:
    """The lots ``event`` earns, one per matching rule, in the rules file's order.

    ``stats`` are the customer's statistics before this event; ``source`` is the input kind
    (``ids.SOURCE_PURCHASES`` or ``ids.SOURCE_APP_INSTALLS``) that goes into the lot ids.
    """
    kind: EventKind = "purchase" if isinstance(event, Purchase) else "app_install"
    plans = []
    for rule in rules.rules_for(kind):
        if not rule_applies(rule, event, rules, stats):
            continue
        points = rule_points(rule, event)
        if points > 0:
            plans.append(_plan(rule, event, points, rules, source))
    return plans


def rule_applies(
    rule: Rule, event: Purchase | AppInstall, rules: RulesFile, stats: CustomerStats
) -> bool:
    """Whether ``rule``'s conditions hold for ``event`` (apart from the points being > 0).

    Listed segments are alternatives: the customer must belong to at least one of them.
    """
    when = rule.when
    if not when.active_at(event.occurred_at):
        return False
    if when.segments and not any(
        segment_matches(rules.segments[name], stats, event.occurred_at) for name in when.segments
    ):
        return False
    if isinstance(event, AppInstall):
        return not when.apps or event.app in when.apps
    if when.min_amount is not None and event.amount < when.min_amount:
        return False
    return not when.channels or event.channel in when.channels


def rule_points(rule: Rule, event: Purchase | AppInstall) -> int:
    """The points ``rule`` gives for ``event`` before limits; 0 means no lot.

    A percentage is ``floor(base * percent / 100)``. Its base is the order amount or, when the
    rule names skus or categories, the qualifying items' ``quantity * unit_price`` (at most the
    order amount: list prices can exceed what was paid after an order discount). A fixed bonus
    with skus or categories needs at least one qualifying item.
    """
    targeted = bool(rule.when.skus or rule.when.categories)
    qualifying: Sequence[PurchaseItem] = ()
    if isinstance(event, Purchase) and targeted:
        qualifying = [item for item in event.items or () if _qualifies(item, rule.when)]
    if rule.points.fixed is not None:
        return 0 if targeted and not qualifying else rule.points.fixed
    if not isinstance(event, Purchase) or rule.points.percent is None:
        return 0
    # Enough precision for 1000 items of huge quantities: the floor must be exact.
    with localcontext() as context:
        context.prec = 80
        base = event.amount
        if targeted:
            base = min(
                base, sum((item.unit_price * item.quantity for item in qualifying), Decimal(0))
            )
        points = (base * rule.points.percent / 100).to_integral_value(rounding=ROUND_FLOOR)
    return int(points)


def capped_points(planned: int, given_in_window: int, max_points: int) -> int:
    """What a ``max_points`` cap leaves of ``planned`` after ``given_in_window``; 0 = no lot."""
    return max(0, min(planned, max_points - given_in_window))


def plan_campaign_lot(launch: CampaignLaunch, customer_id: str, rules: RulesFile) -> LotPlan:
    """The lot a campaign launch grants one customer of its segment.

    It is issued and active at the launch's ``occurred_at``; it expires at ``expires_at`` or
    after ``valid_for`` (counted in the rules' time zone); its warnings use the campaign's own
    ``warn_before`` and the rules file's ``warning_coalesce``.
    """
    tz = rules.timezone
    activates_at, expires_at = lot_window(
        launch.occurred_at, launch.valid_for, tz, expires_at=launch.expires_at
    )
    return LotPlan(
        lot_id=lot_id(
            SOURCE_CAMPAIGNS,
            launch.event_id,
            campaign_id=launch.campaign_id,
            customer_id=customer_id,
        ),
        rule_id=None,
        campaign_id=launch.campaign_id,
        points=launch.points,
        issued_at=launch.occurred_at.astimezone(UTC),
        activates_at=activates_at,
        expires_at=expires_at,
        warnings=warning_plans(expires_at, launch.warn_before, rules.warning_coalesce, tz),
        once_per_customer=False,
        cap=None,
        source_event_id=launch.event_id,
        order_id=None,
    )


def _plan(
    rule: Rule, event: Purchase | AppInstall, points: int, rules: RulesFile, source: str
) -> LotPlan:
    tz = rules.timezone
    issued_at = event.occurred_at.astimezone(UTC)
    activates_at, expires_at = lot_window(
        issued_at,
        rule.valid_for,
        tz,
        activates_after=rule.activates_after,
        round_up_to=rule.round_up_to,
    )
    cap = None
    if rule.limit.max_points is not None and rule.limit.per is not None:
        cap = CapPlan(rule.limit.max_points, rule.limit.per.subtract_from(issued_at, tz))
    return LotPlan(
        lot_id=lot_id(source, event.event_id, rule_id=rule.id),
        rule_id=rule.id,
        campaign_id=None,
        points=points,
        issued_at=issued_at,
        activates_at=activates_at,
        expires_at=expires_at,
        warnings=warning_plans(expires_at, rule.warn_before, rules.warning_coalesce, tz),
        once_per_customer=rule.limit.once_per_customer,
        cap=cap,
        source_event_id=event.event_id,
        order_id=event.order_id if isinstance(event, Purchase) else None,
        order_amount=event.amount if isinstance(event, Purchase) else None,
    )


def _qualifies(item: PurchaseItem, when: When) -> bool:
    # skus and categories are alternatives: an item counts if it matches either list.
    return item.sku in when.skus or (item.category is not None and item.category in when.categories)
