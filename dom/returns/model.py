"""A return as a client registers it, and where a return and its lines stand. Pure values and
rules: no I/O.

A return's lines are those of the `dom allocate` instance (allocation.instance.ReturnLine):
a SKU, units and a condition, dropped off at a store or handed to a carrier at an address. A
return may name the order it comes from; its lines then name the order's lines, and what they
sold for is what the units are worth where they are restocked.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from allocation.instance import DropOffAddress, DropOffStore, ReturnLine
from dom.orders.model import (
    MAX_LINE_PRICE,
    MAX_LINE_UNITS,
    MAX_ORDER_LINES,
    Identifier,
    OrderId,
    unique_line_ids,
)

Condition = Literal["new", "opened", "damaged"]
SELLABLE: frozenset[str] = frozenset({"new", "opened"})  # back on the shelf; damaged is not


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreDropOff(_In):
    """Brought back to a store by the customer."""

    store: Identifier


class CarrierDropOff(_In):
    """Handed to a carrier at an address."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class ReturnLineIn(_In):
    id: Identifier
    sku: Identifier
    quantity: int = Field(gt=0, le=MAX_LINE_UNITS)
    condition: Condition
    order_line: Identifier | None = None  # the line of the return's order it gives back
    price: float | None = Field(
        default=None, ge=0, le=MAX_LINE_PRICE, allow_inf_nan=False,
        description="what a unit sells for; the order line's price when the return names one",
    )  # fmt: skip


class ReturnIn(_In):
    """A return as registered. Its id is the client's: a retry with the same body is harmless."""

    id: OrderId
    order: OrderId | None = None
    drop_off: StoreDropOff | CarrierDropOff
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)

    @model_validator(mode="after")
    def _consistent(self) -> ReturnIn:
        unique_line_ids(line.id for line in self.lines)
        named = [line.id for line in self.lines if line.order_line is not None]
        if self.order is None and named:
            raise ValueError(f"lines {', '.join(named)} name an order line but the return no order")
        if self.order is not None and len(named) != len(self.lines):
            unnamed = sorted({line.id for line in self.lines} - set(named))
            raise ValueError(
                f"a return of order {self.order} names the order line of every line; "
                f"{', '.join(unnamed)} do not"
            )
        return self

    def digest(self) -> str:
        """What makes a retry the same return: its whole body."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def for_allocation(self, line: ReturnLineIn) -> ReturnLine:
        """The allocation core's return line."""
        drop_off: DropOffStore | DropOffAddress
        if isinstance(self.drop_off, StoreDropOff):
            drop_off = DropOffStore(store=self.drop_off.store)
        else:
            drop_off = DropOffAddress(lat=self.drop_off.lat, lon=self.drop_off.lon)
        return ReturnLine(
            id=line.id, sku=line.sku, quantity=line.quantity, condition=line.condition,
            drop_off=drop_off,
        )  # fmt: skip


class ReturnStatus(StrEnum):
    registered = "registered"  # routed; nothing received yet
    partly_received = "partly_received"  # some lines' destinations have reported receipt
    received = "received"  # every line received


def return_status(received: list[bool]) -> ReturnStatus:
    """The return's status from whether each of its lines has been received."""
    if all(received):
        return ReturnStatus.received
    return ReturnStatus.partly_received if any(received) else ReturnStatus.registered


def sellable(condition: str) -> bool:
    """Whether units in `condition` re-enter the ledger as stock that may be sold."""
    return condition in SELLABLE
