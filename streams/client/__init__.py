"""Integration kit for point-of-sale and shop backends: one validating, idempotent producer.

``BonusProducer`` checks every event against the contract's models before anything is sent,
routes it to its topic with its key, and reports every delivery.
"""

from streams.client.producer import BonusProducer, DeliveryCallback, DeliveryReport, DeliveryStats
from streams.client.routing import CE_TYPES, Route, route_for, validate_input

__all__ = [
    "CE_TYPES",
    "BonusProducer",
    "DeliveryCallback",
    "DeliveryReport",
    "DeliveryStats",
    "Route",
    "route_for",
    "validate_input",
]
