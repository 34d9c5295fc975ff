"""Checkout's models: availability of a SKU or a cart, its explanation, and cart reservations."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from api.schemas.common import Channel, ClientId, Identifier, In, Latitude, Longitude, Out
from inventory import MAX_CART_SKUS, MAX_HOLD_TTL_S

MAX_QUERY_UNITS = 1_000_000  # units one availability line may ask to promise
MAX_LINE_UNITS = 10_000  # units one reservation line may hold
MAX_RESERVATION_LINES = 100

Method = Literal["ship", "pickup"]


def _pickup_names_its_store(method: Method, store: str | None) -> None:
    if method == "pickup" and store is None:
        raise ValueError("a pickup names its store")


class Where(In):
    """Where the goods go: shipped, or picked up at `store`. A ship address (lat/lon) is checked
    and kept for orders; availability and its promise (the earliest ship time) do not depend on
    it yet."""

    method: Method = "ship"
    store: Identifier | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    channel: Channel = "web"

    @model_validator(mode="after")
    def _consistent(self) -> Where:
        _pickup_names_its_store(self.method, self.store)
        if (self.lat is None) != (self.lon is None):
            raise ValueError("an address gives both lat and lon")
        return self


class CartLineIn(In):
    sku: Identifier
    quantity: int = Field(default=1, ge=1, le=MAX_QUERY_UNITS)


class CartIn(Where):
    lines: list[CartLineIn] = Field(min_length=1, max_length=MAX_CART_SKUS)

    @model_validator(mode="after")
    def _each_sku_once(self) -> CartIn:
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValueError("a cart lists each SKU once")
        return self


class PromiseOut(Out):
    quantity: int = Field(ge=1, description="the units promised")
    met: bool = Field(description="whether the quantity can be promised at all")
    at: datetime | None = Field(
        description="earliest ship date (ship) or ready-for-pickup time (pickup); null when not met"
    )
    from_inbound: bool = Field(description="the promise waits for inbound supply")


class AvailabilityOut(Out):
    sku: str
    method: Method
    available: int = Field(ge=0, description="units that may be sold now, by this method")
    held_back: int = Field(ge=0, description="units the network threshold keeps back")
    shelf: int | None = Field(default=None, ge=0, description="pickup: on the store's shelf now")
    transferable: int | None = Field(
        default=None, ge=0, description="pickup: can be brought to the store within the window"
    )
    promise: PromiseOut


class CartOut(Out):
    method: Method
    lines: list[AvailabilityOut]
    complete: bool = Field(description="every line can be promised")
    promise_at: datetime | None = Field(
        description="the cart's earliest complete promise: when its last line can be met"
    )


class ContributionOut(Out):
    location: str
    type: str
    on_hand: int
    reserved: int
    safety: int
    fenced: int = Field(description="kept here for other channels by their fences")
    counted: int = Field(description="units this location adds to the answer")
    lead_hours: float
    reported_at: datetime | None
    excluded: str = Field(description="why it adds nothing, when it adds nothing")
    short: int = Field(description="reserved units its stock no longer backs")
    reserved_by_channel: dict[str, int]


class ExplanationOut(AvailabilityOut):
    contributions: list[ContributionOut]


class ReservationLineIn(In):
    sku: Identifier
    quantity: int = Field(ge=1, le=MAX_LINE_UNITS)
    location: Identifier | None = Field(
        default=None, description="pin the line to one location; otherwise the engine picks"
    )


class ReservationIn(In):
    """A cart hold: every line or none. `id` is the client's, so a retry is safe."""

    id: ClientId
    lines: list[ReservationLineIn] = Field(min_length=1, max_length=MAX_RESERVATION_LINES)
    method: Method = "ship"
    store: Identifier | None = None
    channel: Channel = "web"
    ttl_s: int | None = Field(
        default=None, gt=0, le=MAX_HOLD_TTL_S, description="seconds until it expires by itself"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ReservationIn:
        _pickup_names_its_store(self.method, self.store)
        return self


class HeldOut(Out):
    line: int = Field(ge=0, description="the request line, from 0")
    sku: str
    location: str
    quantity: int = Field(ge=1)


class ReservationOut(Out):
    id: str
    status: Literal["held", "consumed", "released", "expired", "settled"]
    channel: str | None = None
    held: list[HeldOut] = Field(description="where its units are held")
    expires_at: datetime | None
    created_at: datetime | None = None
    order_id: str | None = None
