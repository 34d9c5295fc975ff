"""What a hold request gets: its outcome and status, the conflicts a request can meet, what a
shipment's settlement did, and the positions a transaction changed (for the projection). Pure
values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from inventory.domain.projected import Projected
from inventory.holds.request import Take
from inventory.stock.count_rule import Outcome

Key = tuple[str, str]


class HoldStatus(StrEnum):
    """Where a reservation stands. Only `held` moves on, and only once (inventory.holds.lifecycle)."""

    held = "held"
    refused = "refused"  # never recorded: a retry decides afresh
    consumed = "consumed"  # an order took its units over; they stay reserved until shipped
    released = "released"
    expired = "expired"
    settled = "settled"  # consumed, then shipped: its units left on_hand and reserved, once


class UnknownReservation(LookupError):
    """No reservation has this id."""


class ReservationConflict(Exception):
    """The request contradicts what is recorded (same id, other content; or a closed reservation)."""


class HoldNotConsumed(ReservationConflict):
    """Only a hold an order consumed can ship: this one is held, released, expired or refused."""


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
    """The positions a transaction changed, as the projection should show them after it."""

    positions: dict[Key, Projected] = field(default_factory=dict)

    def stock_written(self, changed: Mapping[Key, Projected]) -> None:
        """Positions a stock write changed. Such a write does not read what each channel holds,
        so a position keeps the channels' parts an earlier change of the transaction projected
        (a hold given back just before): the write's value alone would leave them held."""
        for key, value in changed.items():
            earlier = self.positions.get(key)
            self.positions[key] = (
                value if earlier is None else replace(value, by_channel=earlier.by_channel)
            )


@dataclass(frozen=True, slots=True)
class Shipped:
    """A settlement's units at one position, and what its `ship` event did to on_hand there:
    `applied` (taken out), or `stale` (a count taken after the parcel left already excludes them)."""

    location: str
    sku: str
    quantity: int
    event_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Settlement:
    """A shipment that settled its reservation, whole. A replay (the same shipment again) gets
    the first settlement back, `replayed`."""

    shipment_id: str
    reservation_id: str
    order_id: str | None
    shipped_us: int
    units: tuple[Shipped, ...]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reservation as recorded: where its units are held, and where it stands. A hold past its
    expiry reads as `expired` even before the sweep has released it: it can no longer be used."""

    id: str
    status: HoldStatus
    channel: str
    takes: tuple[Take, ...]
    created_us: int
    expires_us: int | None
    closed_us: int | None
    order_id: str | None
