"""Short holds: which holds a position's stock no longer backs, once a count (or a sale, or a
larger safety buffer) leaves it with less than is reserved there. Pure values and the rule.

A position is short when reserved > max(0, on_hand - safety): the units beyond that are missing.
Which holds miss them is decided first come, first served: the position's open holds (held or
consumed) keep their units oldest first, by when they were decided (then by reservation id, so
the answer never depends on the order rows are read in); the newest holds are the short ones,
each missing what is left of its units once the older ones took theirs. The rule only reads the
ledger: nothing is moved, the order lifecycle re-routes the short holds it is told about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inventory.domain.model import short_units
from inventory.holds.outcome import HoldStatus, ReservationConflict


@dataclass(frozen=True, slots=True)
class OpenHold:
    """A hold's units at one position, as the rule reads them."""

    reservation_id: str
    created_us: int
    units: int


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Units of one hold at one position that the position's stock no longer backs."""

    reservation_id: str
    location: str
    sku: str
    units: int  # the hold's units there
    missing: int  # of them, those no stock backs


@dataclass(frozen=True, slots=True)
class ShortPosition:
    """A position with less stock than is reserved there, and the holds it leaves short."""

    location: str
    sku: str
    on_hand: int
    reserved: int
    safety: int
    holds: tuple[Shortfall, ...]

    @property
    def missing(self) -> int:
        return short_units(self.on_hand, self.reserved, self.safety)

    def describe(self) -> str:
        holds = ", ".join(f"{h.reservation_id} ({h.missing} of {h.units})" for h in self.holds)
        return (
            f"{self.location}/{self.sku} is short by {self.missing}: on hand {self.on_hand}, "
            f"safety {self.safety}, reserved {self.reserved}; short holds: {holds or 'none'}"
        )


@dataclass(frozen=True, slots=True)
class ShortHold:
    """A hold, held or consumed, that misses units at one or more of its positions."""

    reservation_id: str
    status: HoldStatus
    order_id: str | None
    shortfalls: tuple[Shortfall, ...]

    @property
    def missing(self) -> int:
        return sum(s.missing for s in self.shortfalls)


class HoldShort(ReservationConflict):
    """An order may not consume a hold that stock no longer backs: the hold stays held, for the
    order to release and route afresh. `positions` name each shortfall."""

    def __init__(self, reservation_id: str, positions: Iterable[ShortPosition]) -> None:
        self.reservation_id = reservation_id
        self.positions = tuple(positions)
        self.shortfalls = tuple(
            h for p in self.positions for h in p.holds if h.reservation_id == reservation_id
        )
        missing = "; ".join(
            f"{s.missing} of its {s.units} units at {s.location}/{s.sku}" for s in self.shortfalls
        )
        super().__init__(
            f"reservation {reservation_id!r} is short, no stock backs {missing}; it stays held "
            f"(release it and hold again): {' | '.join(p.describe() for p in self.positions)}"
        )


def allot(
    location: str, sku: str, on_hand: int, safety: int, holds: Iterable[OpenHold]
) -> tuple[Shortfall, ...]:
    """The holds at a position that its stock (on hand less safety) leaves short, and by how
    much: the oldest keep their units, the newest miss what is left (see above)."""
    left = max(0, on_hand - safety)
    short = []
    for hold in sorted(holds, key=lambda h: (h.created_us, h.reservation_id)):
        kept = min(hold.units, left)
        left -= kept
        if kept < hold.units:
            short.append(
                Shortfall(hold.reservation_id, location, sku, hold.units, hold.units - kept)
            )
    return tuple(short)
