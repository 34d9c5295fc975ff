"""What a hold request gets: its outcome and status, the conflict a request can meet, and the
positions a transaction changed (for the projection). Pure values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from inventory.domain.projected import Projected
from inventory.holds.request import Take

Key = tuple[str, str]


class HoldStatus(StrEnum):
    """Where a reservation stands. Only `held` moves on, and only once (inventory.holds.lifecycle)."""

    held = "held"
    refused = "refused"  # never recorded: a retry decides afresh
    consumed = "consumed"  # an order took its units over; they stay reserved until shipped
    settled = "settled"  # its units left in a shipment: out of on_hand and reserved, once
    released = "released"
    expired = "expired"


class UnknownReservation(LookupError):
    """No reservation has this id."""


class ReservationConflict(Exception):
    """The request contradicts what is recorded (same id, other content; or a closed reservation)."""


@dataclass(frozen=True, slots=True)
class ShortHold:
    """Units of an open reservation at a position that no longer has the stock behind them."""

    reservation_id: str
    status: HoldStatus  # held (a cart or allocation) or consumed (an order's)
    order_id: str | None
    location: str
    sku: str
    line: int
    short_units: int


class ShortReservation(ReservationConflict):
    """A reservation whose units are no longer all in stock: a count came in below what is
    reserved. `short` says where and by how much; the caller re-routes the hold."""

    def __init__(self, reservation_id: str, short: list[ShortHold]) -> None:
        self.short = short
        where = ", ".join(f"{s.short_units} x {s.sku} at {s.location}" for s in short)
        super().__init__(f"reservation {reservation_id!r} is short: {where}")


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    id: str
    status: HoldStatus
    takes: tuple[Take, ...] = ()
    reason: str = ""
    expires_us: int | None = None
    replayed: bool = False


@dataclass(slots=True)
class Changes:
    positions: dict[Key, Projected] = field(default_factory=dict)
