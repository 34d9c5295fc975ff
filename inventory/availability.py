"""Available-to-sell by fulfilment method, with a promise and an explanation. Pure functions.

ship:   every active ship-capable location; stores only when ship-from-store is allowed, and above
        their buffer (safety); drop-ship vendors at the policy's confidence, and not at all once
        their feed is older than the policy allows. The network threshold holds back the last units.
pickup: the pickup store's own shelf now, plus what transfer-capable nodes can bring within the
        policy's transfer window.
Which location may give what is decided once per network version (`sources`); the per-request
loop then only does arithmetic on the projection's raw values, because checkout calls it for
every cart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

import numpy as np

from inventory import records
from inventory.model import Capability, Location, LocationType
from inventory.policy import AvailabilityPolicy, ChannelFence
from inventory.tally import SourceTable, Tally, tally


@dataclass(frozen=True, slots=True)
class Query:
    method: str = "ship"  # ship | pickup
    store: str | None = None
    channel: str = "web"
    quantity: int = 1
    on_date: datetime | None = None


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

    def offered(self, free: int, vendor_factor: float) -> int:
        """Units this location offers out of its free units (on_hand - reserved - safety): what
        other channels' fences leave, at the vendor's confidence for a drop-ship vendor, none
        when it may not give. Never less for more free units: holds rely on it (inventory.holds).
        A vendor's feed age is judged apart, on its report time."""
        if self.why_not or free <= 0:
            return 0
        left = free - self.fenced(free)
        if self.location.type is LocationType.dropship:
            left = int(left * vendor_factor)
        return left


@dataclass(frozen=True, slots=True)
class Sources:
    by_location: dict[str, Source]
    eligible: frozenset[str]  # locations that may give, for inbound supply too
    table: SourceTable  # the same, as arrays, for the vectorised tally
    fenced: bool  # some location keeps stock for another channel: tally one by one
    whole: frozenset[str] = frozenset()  # locations that offer all their free units
    pickup: bool = False  # the sources of a pickup: the store's shelf and transfers to it


@dataclass(frozen=True, slots=True)
class Contribution:
    """One location's part in an answer, with every adjustment applied, for `explain`."""

    location: str
    type: str
    on_hand: int
    reserved: int
    safety: int
    fenced: int
    counted: int  # units this location adds to the answer
    lead_hours: float
    reported_s: int
    excluded: str = ""  # why it adds nothing, when it adds nothing


@dataclass(frozen=True, slots=True)
class Promise:
    quantity: int
    at: datetime | None  # earliest ship date / ready-for-pickup time; None when it cannot be met
    from_inbound: bool = False


@dataclass(slots=True)
class SkuAvailability:
    sku: str
    method: str
    available: int
    shelf: int = 0  # pickup only: on the pickup store's shelf now
    transferable: int = 0  # pickup only: can be brought to the store within the window
    held_back: int = 0  # the network threshold's share
    on_date: int | None = None  # available to promise on the requested date
    promise: Promise | None = None
    contributions: list[Contribution] = field(default_factory=list)


def sources_for(
    locations: Mapping[str, Location],
    slots: Mapping[str, int],
    policy: AvailabilityPolicy,
    query: Query,
) -> Sources:
    """Decide, for every location, whether and how fast it may serve this kind of request.
    `slots`: each location's slot in the projection's records."""
    pickup_store = locations.get(query.store or "") if query.method == "pickup" else None
    by_location = {}
    for loc_id, location in locations.items():
        fences = tuple(
            f
            for f in policy.fences
            if f.channel != query.channel and f.applies_to(loc_id, location.type.value)
        )
        if query.method != "pickup":
            by_location[loc_id] = Source(
                location, _cannot_ship(location, policy), location.lead_time_hours, fences
            )
        elif pickup_store is None or not pickup_store.can(Capability.pickup):
            by_location[loc_id] = Source(
                location, "pickup store unknown or not a pickup point", 0.0, fences
            )
        elif loc_id == pickup_store.id:
            by_location[loc_id] = Source(location, "", location.lead_time_hours, fences, shelf=True)
        else:
            by_location[loc_id] = Source(
                location, _cannot_transfer(location, policy), location.transfer_days * 24, fences
            )
    eligible = frozenset(loc_id for loc_id, s in by_location.items() if not s.why_not)
    ordered = list(by_location.values())
    by_slot = np.full(max((slots[s.location.id] for s in ordered), default=-1) + 1, -1)
    for i, source in enumerate(ordered):
        by_slot[slots[source.location.id]] = i
    table = SourceTable(
        ids=tuple(s.location.id for s in ordered),
        by_slot=by_slot,
        eligible=np.array([not s.why_not for s in ordered], dtype=bool),
        lead_hours=np.array([s.lead_hours for s in ordered], dtype=np.float64),
        dropship=np.array([s.location.type is LocationType.dropship for s in ordered], dtype=bool),
        shelf=np.array([s.shelf for s in ordered], dtype=bool),
    )
    whole = frozenset(
        loc_id
        for loc_id, s in by_location.items()
        if not s.why_not and not s.fences and s.location.type is not LocationType.dropship
    )
    fenced = any(s.fences for s in ordered)
    return Sources(by_location, eligible, table, fenced, whole, query.method == "pickup")


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


def compute(
    sku: str,
    positions: bytes | None,
    inbound: Mapping[str, int],
    sources: Sources,
    policy: AvailabilityPolicy,
    query: Query,
    now: datetime,
    detail: bool = False,
    counted: Tally | None = None,
) -> SkuAvailability:
    """`positions`: the SKU's packed record as the projection holds it (inventory.records).

    `counted` is the SKU's tally when the caller has already made it (inventory.tally.tally_many)."""
    now_s = int(now.timestamp())
    parts: list[Contribution] = []
    if detail or sources.fenced:
        counted = _tally_each(positions, sources, policy, now_s, parts if detail else None)
    elif counted is None:
        counted = tally(
            positions,
            sources.table,
            now_s,
            policy.vendor.max_age_hours * 3600,
            policy.vendor.factor,
        )
    held = min(counted.total - counted.shelf, policy.threshold(sku))
    result = SkuAvailability(
        sku, query.method, counted.total - held, held_back=held, contributions=parts
    )
    if query.method == "pickup":
        result.shelf, result.transferable = counted.shelf, counted.total - counted.shelf - held
    result.promise = _promise(counted, inbound, sources, query.quantity + held, query.quantity, now)
    if query.on_date is not None:
        limit = int(query.on_date.timestamp())
        result.on_date = result.available + sum(
            units for _, at, units in _inbound(inbound, sources) if at <= limit
        )
    return result


def _tally_each(
    positions: bytes | None,
    sources: Sources,
    policy: AvailabilityPolicy,
    now_s: int,
    parts: list[Contribution] | None,
) -> Tally:
    """The same tally as inventory.tally, one location at a time, keeping each one's part."""
    offers: list[tuple[float, int]] = []
    shelf = 0
    entries = records.unpack(positions)
    at = sources.table.index_of(entries["slot"]).tolist()
    known = sorted(
        (sources.table.ids[i], entry)
        for i, entry in zip(at, entries.tolist(), strict=True)
        if i >= 0
    )  # locations the network no longer has are left out
    for loc_id, (_, _, reported, on_hand, reserved, safety) in known:
        source = sources.by_location[loc_id]
        free = on_hand - reserved - safety
        why, fenced, units = source.why_not, source.fenced(free), 0
        if not why and vendor_stale(source, reported, now_s, policy):
            why = f"vendor feed older than {policy.vendor.max_age_hours:g} h"
        if not why:
            units = source.offered(free, policy.vendor.factor)
        if units > 0:
            offers.append((source.lead_hours, units))
            shelf += units if source.shelf else 0
        if parts is not None:
            location = source.location
            parts.append(
                Contribution(
                    loc_id,
                    location.type.value,
                    on_hand,
                    reserved,
                    safety,
                    fenced,
                    units,
                    source.lead_hours,
                    reported,
                    why,
                )
            )
    offers.sort(key=lambda offer: offer[0])
    leads = np.array([lead for lead, _ in offers], dtype=np.float64)
    cumulative = np.cumsum(np.array([units for _, units in offers], dtype=np.int64))
    return Tally(int(cumulative[-1]) if offers else 0, shelf, leads, cumulative)


def vendor_stale(source: Source, reported_s: int, now_s: int, policy: AvailabilityPolicy) -> bool:
    """A drop-ship vendor whose last report is older than the policy trusts offers nothing."""
    return (
        source.location.type is LocationType.dropship
        and now_s - reported_s > policy.vendor.max_age_hours * 3600
    )


def _promise(
    counted: Tally, inbound, sources: Sources, need: int, quantity: int, now: datetime
) -> Promise:
    """Earliest time `quantity` units can leave (ship) or be ready (pickup): fastest sources first,
    then inbound supply by expected date."""
    reached = int(np.searchsorted(counted.cumulative, need))
    if reached < len(counted.leads):
        return Promise(quantity, now + timedelta(hours=float(counted.leads[reached])))
    need -= counted.total
    for loc_id, expected_s, units in sorted(_inbound(inbound, sources), key=lambda row: row[1]):
        need -= units
        if need <= 0:
            lead = sources.by_location[loc_id].lead_hours
            return Promise(
                quantity,
                datetime.fromtimestamp(expected_s, now.tzinfo) + timedelta(hours=lead),
                True,
            )
    return Promise(quantity, None)


def _inbound(inbound: Mapping[str, int], sources: Sources):
    """(location, expected_s, units) of inbound supply at locations that may serve the request."""
    for key, units in inbound.items():
        loc_id, _, expected = key.rpartition("|")
        if loc_id in sources.eligible:
            yield loc_id, int(expected), units
