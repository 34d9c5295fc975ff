"""The typed input of an allocation: locations, stock, orders, returns and the rule set.

Field-level constraints live here (types, signs, extra keys refused); references between parts of
an instance (unknown location or SKU, duplicate ids) are checked in `allocation.validate`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from allocation.rules import LocationType, Rules, Strict

Capability = Literal["ship", "pickup", "transfer", "returns"]
MAX_LINES_PER_ORDER = 200
MAX_QUANTITY = 1_000_000


class Location(Strict):
    id: str = Field(min_length=1)
    type: LocationType
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    capabilities: tuple[Capability, ...] = ("ship",)
    capacity: int = Field(default=1_000_000, ge=0)  # shipments this location may send
    lead_time_hours: float = Field(default=0.0, ge=0)  # order to ready (dispatch or shelf)
    transfer_days: float = Field(default=2.0, ge=0)  # transfer from here to a store
    buffer: int | None = Field(default=None, ge=0)  # units kept back from online (stores)
    returns_centre: bool = False  # handles damaged returns


class StockRecord(Strict):
    location: str
    sku: str = Field(min_length=1)
    available: int = Field(ge=0, le=MAX_QUANTITY)


class ShipTo(Strict):
    method: Literal["ship"]
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class PickupAt(Strict):
    method: Literal["pickup"]
    store: str


class Line(Strict):
    id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    price: float = Field(default=0.0, ge=0)
    kit: str | None = None


class Order(Strict):
    id: str = Field(min_length=1)
    delivery: ShipTo | PickupAt = Field(discriminator="method")
    lines: tuple[Line, ...] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)


class DropOffStore(Strict):
    store: str


class DropOffAddress(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ReturnLine(Strict):
    id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    condition: Literal["new", "opened", "damaged"]
    drop_off: DropOffStore | DropOffAddress


class ResaleValue(Strict):
    """What one unit of ``sku`` is worth when restocked at ``location`` (it sells there)."""

    location: str
    sku: str
    value: float = Field(ge=0)


class ReturnRules(Strict):
    """Costs of routing returns; the transport terms reuse the rule set's transfer weights."""

    carrier_base: float = Field(default=4.0, ge=0)  # parcel from an address
    carrier_per_km: float = Field(default=0.01, ge=0)
    handling: dict[LocationType, float] = Field(
        default_factory=lambda: {"warehouse": 1.0, "store": 1.5, "dropship": 1.0}
    )
    returns_centre_handling: float = Field(default=2.0, ge=0)
    opened_value_factor: float = Field(default=0.7, ge=0, le=1)
    default_value: float = Field(default=0.0, ge=0)  # resale value where none is given


class Instance(Strict):
    locations: tuple[Location, ...]
    stock: tuple[StockRecord, ...] = ()
    orders: tuple[Order, ...] = ()
    rules: Rules = Rules()
    returns: tuple[ReturnLine, ...] = ()
    resale_values: tuple[ResaleValue, ...] = ()
    return_rules: ReturnRules = ReturnRules()

    @model_validator(mode="after")
    def _has_locations(self) -> Instance:
        if not self.locations:
            raise ValueError("an instance needs at least one location")
        return self
