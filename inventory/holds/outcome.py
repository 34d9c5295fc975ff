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
    released = "released"
    expired = "expired"


class UnknownReservation(LookupError):
    """No reservation has this id."""


class ReservationConflict(Exception):
    """The request contradicts what is recorded (same id, other content; or a closed reservation)."""


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
