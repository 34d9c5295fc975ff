"""What the order lifecycle refuses, each with a message that says why."""

from __future__ import annotations


class UnknownOrder(LookupError):
    """No order has this id."""


class UnknownShipment(LookupError):
    """No shipment has this id."""


class OrderConflict(Exception):
    """The request contradicts what is recorded: the same order id with another body, or an
    order in a state that does not allow it (cancelling a fulfilled order)."""


class CartUnusable(OrderConflict):
    """The cart reservation an order names cannot become its allocation (expired, released,
    consumed by another order, unknown)."""


class InvalidShipmentEvent(ValueError):
    """A shipment event that cannot be right: a rejection without its reason, say."""
