"""Which location may give what to one kind of request (method, pickup store, channel): exclusions,
fences, lead times and transfers, decided once per network version. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

import numpy as np

from inventory.availability import vendor
from inventory.availability.policy import AvailabilityPolicy, ChannelFence
from inventory.availability.tally import SourceTable
from inventory.domain.model import Capability, Location, LocationType

METHODS = frozenset({"ship", "pickup"})
MAX_QUERY_UNITS = 1_000_000  # units one availability query may ask to promise


@dataclass(frozen=True, slots=True)
class Query:
    """What checkout asks: by `method` (ship, or pickup at `store`), for `channel`, `quantity`
    units, optionally on a future date. Refused when malformed, never read as something else."""

    method: str = "ship"  # ship | pickup
    store: str | None = None
    channel: str = "web"
    quantity: int = 1
    on_date: datetime | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidQuery(f"method is ship or pickup, not {self.method!r}")
        if self.method == "pickup" and not self.store:
            raise InvalidQuery("a pickup query names its store")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise InvalidQuery(f"quantity is a whole number, not {self.quantity!r}")
        if not 1 <= self.quantity <= MAX_QUERY_UNITS:
            raise InvalidQuery(f"quantity is 1 to {MAX_QUERY_UNITS:,}, not {self.quantity}")


class InvalidQuery(ValueError):
    """An availability query that cannot be answered as asked: the message says why."""


@dataclass(frozen=True, slots=True)
class Source:
    """What one location may give to one kind of request."""

    location: Location
    why_not: str  # empty when it may give
    lead_hours: float  # until shipped (ship) or ready in the pickup store (pickup)
    fences: tuple[ChannelFence, ...] = ()  # other channels' fences that apply here
    shelf: bool = False  # pickup: the pickup store itself
    fence_units: int = field(init=False)
    fence_share: Fraction = field(init=False)

    def __post_init__(self) -> None:
        # Shares add up exactly as written (0.6 + 0.3 + 0.1 is 1, not 0.999...), in any order.
        share = sum(
            (Fraction(str(f.share)) for f in self.fences if f.share is not None), Fraction()
        )
        object.__setattr__(self, "fence_units", sum(f.units or 0 for f in self.fences))
        object.__setattr__(self, "fence_share", min(share, Fraction(1)))

    def fenced(self, free: int) -> int:
        """Units of `free` that other channels' fences keep: their units, and their shares taken
        together in one exact rounding down, so that more free units never leave fewer to offer."""
        if free <= 0 or not self.fences:
            return 0
        share = self.fence_share
        return min(free, self.fence_units + free * share.numerator // share.denominator)

    def stock(self, on_hand: int, safety: int, vendor_factor: float) -> int:
        """The stock the rules see: on_hand - safety, or a drop-ship vendor's trusted stock
        (inventory.availability.vendor)."""
        if self.location.type is LocationType.dropship:
            return vendor.trusted_stock(on_hand - safety, vendor_factor)
        return on_hand - safety

    def offered(self, on_hand: int, reserved: int, safety: int, vendor_factor: float) -> int:
        """Units this location offers: its stock (`stock`) less what is held there, less what
        other channels' fences keep, none when it may not give. A vendor's feed age is judged
        apart, on its report time."""
        if self.why_not:
            return 0
        free = self.stock(on_hand, safety, vendor_factor) - reserved
        return max(0, free - self.fenced(free))


@dataclass(frozen=True, slots=True)
class Sources:
    by_location: dict[str, Source]
    eligible: frozenset[str]  # locations that may give, for inbound supply too
    table: SourceTable  # the same, as arrays, for the vectorised tally
    fenced: bool  # some location keeps stock for another channel: tally one by one
    whole: frozenset[str] = frozenset()  # locations that offer all their free units
    pickup: bool = False  # the sources of a pickup: the store's shelf and transfers to it


def sources_for(
    locations: Mapping[str, Location],
    slots: Mapping[str, int],
    policy: AvailabilityPolicy,
    query: Query,
) -> Sources:
    """Decide, for every location, whether and how fast it may serve this kind of request.
    `slots`: each location's slot in the projection's records."""
    pickup_store = locations.get(query.store or "") if query.method == "pickup" else None
    by_location = {
        loc_id: _source(location, query, policy, pickup_store)
        for loc_id, location in locations.items()
    }
    ordered = list(by_location.values())
    whole = frozenset(
        loc_id
        for loc_id, s in by_location.items()
        if not s.why_not and not s.fences and s.location.type is not LocationType.dropship
    )
    return Sources(
        by_location,
        eligible=frozenset(loc_id for loc_id, s in by_location.items() if not s.why_not),
        table=_table(ordered, slots),
        fenced=any(s.fences for s in ordered),
        whole=whole,
        pickup=query.method == "pickup",
    )


def _source(
    location: Location, query: Query, policy: AvailabilityPolicy, pickup_store: Location | None
) -> Source:
    """What `location` may give to `query`: for shipping, its own parcels; for pickup, the pickup
    store's shelf, or a transfer to that store."""
    fences = tuple(
        f
        for f in policy.fences
        if f.channel != query.channel and f.applies_to(location.id, location.type.value)
    )
    if query.method != "pickup":
        return Source(location, _cannot_ship(location, policy), location.lead_time_hours, fences)
    if pickup_store is None or not pickup_store.can(Capability.pickup):
        return Source(location, "pickup store unknown or not a pickup point", 0.0, fences)
    if location.id == pickup_store.id:
        return Source(location, "", location.lead_time_hours, fences, shelf=True)
    return Source(
        location, _cannot_transfer(location, policy), location.transfer_days * 24, fences
    )


def _table(ordered: list[Source], slots: Mapping[str, int]) -> SourceTable:
    """The sources as arrays, indexed by projection slot, for the vectorised tally."""
    by_slot = np.full(max((slots[s.location.id] for s in ordered), default=-1) + 1, -1)
    for i, source in enumerate(ordered):
        by_slot[slots[source.location.id]] = i
    return SourceTable(
        ids=tuple(s.location.id for s in ordered),
        by_slot=by_slot,
        eligible=np.array([not s.why_not for s in ordered], dtype=bool),
        lead_hours=np.array([s.lead_hours for s in ordered], dtype=np.float64),
        dropship=np.array([s.location.type is LocationType.dropship for s in ordered], dtype=bool),
        shelf=np.array([s.shelf for s in ordered], dtype=bool),
    )


def _cannot_ship(location: Location, policy: AvailabilityPolicy) -> str:
    if not location.active:
        return "location inactive"
    if not location.can(Capability.ship):
        return "cannot ship parcels"
    if location.type is LocationType.store and not policy.ship_from_store:
        return "ship-from-store not allowed"
    return ""


def _cannot_transfer(location: Location, policy: AvailabilityPolicy) -> str:
    if not location.active:
        return "location inactive"
    if not location.can(Capability.transfer):
        return "cannot transfer to stores"
    if location.transfer_days > policy.transfer_days_max:
        return f"transfer takes more than {policy.transfer_days_max:g} days"
    return ""


def vendor_stale(source: Source, reported_s: int, now_s: int, policy: AvailabilityPolicy) -> bool:
    """A drop-ship vendor whose last report is older than the policy trusts offers nothing."""
    return source.location.type is LocationType.dropship and vendor.feed_stale(
        reported_s, now_s, policy.vendor
    )
