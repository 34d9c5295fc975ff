"""An order as a client submits it, and the states an order and its shipments move through.
Pure values and rules: no I/O.

The order's shape is the `dom allocate` instance's (allocation.instance.Order), plus the channel
it is sold on and the cart reservation it consumes, so the API and the allocation core speak one
vocabulary.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from allocation.instance import Line, Order, PickupAt, ShipTo
from inventory import CLIENT_TEXT

MAX_ORDER_LINES = 100
MAX_LINE_UNITS = 10_000
MAX_LINE_PRICE = 1_000_000.0  # in the order's currency, per unit
# An order id becomes part of shipment ids (`<order>-S<n>`) and of the ledger's event ids.
OrderId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")
]
Channel = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=CLIENT_TEXT)]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=CLIENT_TEXT)]


def unique_line_ids(ids: Iterable[str]) -> None:
    """Refuse, naming them, line ids given more than once: a line is addressed by its id."""
    seen: set[str] = set()
    twice = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if twice:
        raise ValueError(f"line ids must be unique; repeated: {', '.join(twice)}")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShipDelivery(_In):
    method: Literal["ship"]
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class PickupDelivery(_In):
    method: Literal["pickup"]
    store: Identifier


class OrderLine(_In):
    id: Identifier
    sku: Identifier
    quantity: int = Field(gt=0, le=MAX_LINE_UNITS)
    price: float = Field(default=0.0, ge=0, le=MAX_LINE_PRICE, allow_inf_nan=False)
    kit: Identifier | None = None  # lines of one kit ship together (the rule set says how)


class OrderIn(_In):
    """An order as submitted. Its id is the client's: a retry with the same body is harmless."""

    id: OrderId
    delivery: ShipDelivery | PickupDelivery = Field(discriminator="method")
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    channel: Channel = "web"
    reservation: ClientId | None = None  # a cart hold the order consumes

    @model_validator(mode="after")
    def _line_ids_unique(self) -> OrderIn:
        unique_line_ids(line.id for line in self.lines)
        return self

    def digest(self) -> str:
        """What makes a retry the same order: its whole body."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    @property
    def store(self) -> str | None:
        return self.delivery.store if isinstance(self.delivery, PickupDelivery) else None

    def for_allocation(self, lines: list[tuple[str, str, int]] | None = None) -> Order:
        """The allocation core's order: all its lines, or `lines` as (line id, sku, units)."""
        prices = {line.id: line for line in self.lines}
        chosen = lines if lines is not None else [(ln.id, ln.sku, ln.quantity) for ln in self.lines]
        delivery: ShipTo | PickupAt
        if isinstance(self.delivery, ShipDelivery):
            delivery = ShipTo(method="ship", lat=self.delivery.lat, lon=self.delivery.lon)
        else:
            delivery = PickupAt(method="pickup", store=self.delivery.store)
        return Order(
            id=self.id,
            delivery=delivery,
            lines=tuple(
                Line(id=i, sku=s, quantity=q, price=prices[i].price, kit=prices[i].kit)
                for i, s, q in chosen
            ),
        )


class OrderStatus(StrEnum):
    """Where an order stands, from its shipments and backorders (`order_status`)."""

    routed = "routed"  # every unit allocated, nothing has left yet
    parked = "parked"  # some units backordered, waiting for stock
    partly_fulfilled = "partly_fulfilled"  # some shipments done, others open or backordered
    fulfilled = "fulfilled"  # every unit shipped or collected
    escalated = "escalated"  # rejected too often: a person decides
    cancelled = "cancelled"


class ShipmentStatus(StrEnum):
    allocated = "allocated"
    accepted = "accepted"
    shipped = "shipped"  # a parcel left (ship), or a transfer left for the pickup store
    ready_for_pickup = "ready_for_pickup"
    collected = "collected"
    rejected = "rejected"
    cancelled = "cancelled"


class ShipmentEvent(StrEnum):
    accepted = "accepted"
    rejected = "rejected"
    shipped = "shipped"
    ready_for_pickup = "ready_for_pickup"
    collected = "collected"
    cancelled = "cancelled"


class RejectionReason(StrEnum):
    """Why a location refuses a shipment; each has its own effect on the ledger."""

    not_found = "not_found"  # the units are not there: the position is counted zero as of now
    damaged = "damaged"  # the units are there but unsellable: they leave stock
    no_capacity = "no_capacity"  # no hands or room today: stock is unchanged


Route = Literal["ship", "shelf", "transfer"]
S = ShipmentStatus
OPEN = frozenset({S.allocated, S.accepted})  # units still reserved at the location
DONE = frozenset({S.shipped, S.ready_for_pickup, S.collected})
FINAL = frozenset({S.collected, S.rejected, S.cancelled})

# Each route's legal moves: a parcel ships; a pickup from the store's own shelf is made ready
# and collected; a transfer ships to the pickup store, is made ready there and collected.
_MOVES: dict[str, dict[ShipmentStatus, frozenset[ShipmentEvent]]] = {
    "ship": {
        S.allocated: frozenset({"accepted", "rejected", "shipped", "cancelled"}),
        S.accepted: frozenset({"rejected", "shipped", "cancelled"}),
    },
    "shelf": {
        S.allocated: frozenset({"accepted", "rejected", "ready_for_pickup", "cancelled"}),
        S.accepted: frozenset({"rejected", "ready_for_pickup", "cancelled"}),
        S.ready_for_pickup: frozenset({"collected"}),
    },
    "transfer": {
        S.allocated: frozenset({"accepted", "rejected", "shipped", "cancelled"}),
        S.accepted: frozenset({"rejected", "shipped", "cancelled"}),
        S.shipped: frozenset({"ready_for_pickup"}),
        S.ready_for_pickup: frozenset({"collected"}),
    },
}
_TO = {
    ShipmentEvent.accepted: S.accepted,
    ShipmentEvent.rejected: S.rejected,
    ShipmentEvent.shipped: S.shipped,
    ShipmentEvent.ready_for_pickup: S.ready_for_pickup,
    ShipmentEvent.collected: S.collected,
    ShipmentEvent.cancelled: S.cancelled,
}


class IllegalTransition(ValueError):
    """A shipment event its shipment's state does not allow (shipping a cancelled shipment)."""


def next_status(route: str, status: ShipmentStatus, event: ShipmentEvent) -> ShipmentStatus:
    """The status `event` moves a shipment to, or IllegalTransition saying what is allowed."""
    allowed = _MOVES[route].get(status, frozenset())
    if event not in allowed:
        may = ", ".join(sorted(allowed)) or "nothing: it is final"
        raise IllegalTransition(
            f"a {route} shipment that is {status} cannot be {event}; it may be {may}"
        )
    return _TO[event]


def settles_on(route: str, event: ShipmentEvent) -> bool:
    """Whether `event` is when the units leave the location's stock: a parcel or a transfer
    leaving, or a pickup from the store's own shelf being collected."""
    if route == "shelf":
        return event is ShipmentEvent.collected
    return event is ShipmentEvent.shipped


def finished(route: str, status: ShipmentStatus) -> bool:
    """Whether the customer has the units: a parcel shipped, a pickup collected."""
    return status is S.collected or (route == "ship" and status is S.shipped)


def order_status(
    shipments: list[tuple[str, ShipmentStatus]], backordered: int, escalated: bool
) -> OrderStatus:
    """The order's status from its shipments, (route, status) pairs, and the units still
    backordered. Rejected and cancelled shipments are history: what replaced them counts."""
    live = [(route, s) for route, s in shipments if s not in (S.rejected, S.cancelled)]
    if escalated:
        return OrderStatus.escalated
    if not live and not backordered:
        return OrderStatus.cancelled
    started = any(s in DONE for _, s in live)
    if backordered:
        return OrderStatus.partly_fulfilled if started else OrderStatus.parked
    if all(finished(route, s) for route, s in live):
        return OrderStatus.fulfilled
    return OrderStatus.partly_fulfilled if started else OrderStatus.routed
