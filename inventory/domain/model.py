"""Plain domain values of the ledger. No I/O here: the SQL and Redis layers translate to and from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LocationType(StrEnum):
    warehouse = "warehouse"
    store = "store"
    dropship = "dropship"


class Capability(StrEnum):
    ship = "ship"  # sends parcels to an address
    pickup = "pickup"  # click-and-collect point
    transfer = "transfer"  # can send stock to a store
    returns = "returns"  # accepts returned goods
    returns_centre = "returns_centre"  # grades damaged returns: where they go when one exists


class EventType(StrEnum):
    """Feed events (adjust, count, receive, sale) and the ones the engine writes (ship, return)."""

    adjust = "adjust"  # signed delta
    count = "count"  # absolute on-hand as of occurred_at
    receive = "receive"  # positive quantity received
    sale = "sale"  # positive quantity sold at a store
    ship = "ship"  # positive quantity left in a parcel
    return_ = "return"  # positive quantity back on the shelf


# Sign each delta type applies to on_hand; a count has no sign, it replaces on_hand.
DELTA_SIGN: dict[EventType, int] = {
    EventType.adjust: 1,
    EventType.receive: 1,
    EventType.sale: -1,
    EventType.ship: -1,
    EventType.return_: 1,
}
# Written by the engine only, each tied to what it settles (a shipment its reservation, a return
# its receipt); a feed that sends one is refused (inventory.stock.feed).
ENGINE_WRITTEN: frozenset[EventType] = frozenset({EventType.ship, EventType.return_})


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    type: LocationType
    lat: float
    lon: float
    capabilities: frozenset[Capability] = frozenset()
    capacity_per_day: int = 1_000_000  # shipments a day
    lead_time_hours: float = 24.0  # order to dispatch
    transfer_days: float = 2.0  # transfer from here to a store
    active: bool = True
    region: str = ""

    def can(self, capability: Capability) -> bool:
        return self.active and capability in self.capabilities


@dataclass(frozen=True, slots=True)
class StockEvent:
    event_id: str
    location: str
    sku: str
    type: EventType
    quantity: int
    occurred_at: datetime
    source: str = ""

    @property
    def is_count(self) -> bool:
        return self.type is EventType.count

    @property
    def delta(self) -> int:
        """The change to on_hand this event carries when it is not inside a later count."""
        return DELTA_SIGN[self.type] * self.quantity


@dataclass(slots=True)
class Position:
    """Stock of one SKU at one location. `available` never goes below zero."""

    location: str
    sku: str
    on_hand: int = 0
    reserved: int = 0
    safety: int = 0
    count_at: datetime | None = None  # occurred_at of the latest count applied
    last_delta_at: datetime | None = None  # latest occurred_at among applied deltas
    reported_at: datetime | None = None  # latest occurred_at of any event from a feed

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety)

    @property
    def short(self) -> int:
        return short_units(self.on_hand, self.reserved, self.safety)


def short_units(on_hand: int, reserved: int, safety: int) -> int:
    """Reserved units that a position's stock (on hand less safety) no longer backs: a count
    below what is reserved leaves its holds short (inventory.holds.shortfall)."""
    return max(0, reserved - max(0, on_hand - safety))
