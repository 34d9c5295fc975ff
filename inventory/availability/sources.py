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
class ChannelShare:
    """What one channel's fences at one location keep for it: their units, and their shares
    summed exactly (0.6 + 0.3 + 0.1 is 1, not 0.999...), in any order."""

    channel: str
    units: int
    share: Fraction

    def kept(self, stock: int) -> int:
        """K_f: the units plus the share of `stock` rounded down once, never more than the stock."""
        stock = max(stock, 0)
        share = self.share
        return min(stock, self.units + stock * share.numerator // share.denominator)


@dataclass(frozen=True, slots=True)
class Source:
    """What one location may give to one kind of request (of one channel).

    The rule, at a position of this location: the stock S = on_hand - safety; the stock the rules
    see E = floor(factor x max(S, 0)) for a drop-ship vendor (its trusted stock), else S; R is
    reserved there by all channels. Each other channel f with fences here keeps
    K_f = its fences' units + floor(E x their shares summed exactly), at most max(E, 0), of which
    it already holds r_f. The asking channel is offered
        max(0, E - R - sum over those f of max(0, K_f - r_f))
    and nothing when the location may not give (`why_not`; a stale vendor is judged apart, on
    its report time). So a fence is a share of the stock that other channels' holds never
    reach, whatever order the holds come in: it is not worn away as they take what is free.
    """

    location: Location
    why_not: str  # empty when it may give
    lead_hours: float  # until shipped (ship) or ready in the pickup store (pickup)
    fences: tuple[ChannelFence, ...] = ()  # other channels' fences that apply here
    shelf: bool = False  # pickup: the pickup store itself
    kept: tuple[ChannelShare, ...] = field(init=False)  # the fences, one per channel

    def __post_init__(self) -> None:
        by_channel: dict[str, tuple[int, Fraction]] = {}
        for fence in self.fences:
            units, share = by_channel.get(fence.channel, (0, Fraction()))
            if fence.share is not None:
                share += Fraction(str(fence.share))
            by_channel[fence.channel] = (units + (fence.units or 0), share)
        kept = tuple(
            ChannelShare(channel, units, min(share, Fraction(1)))
            for channel, (units, share) in sorted(by_channel.items())
        )
        object.__setattr__(self, "kept", kept)

    def stock(self, on_hand: int, safety: int, vendor_factor: float) -> int:
        """E: on_hand - safety, or a drop-ship vendor's trusted stock
        (inventory.availability.vendor)."""
        if self.location.type is LocationType.dropship:
            return vendor.trusted_stock(on_hand - safety, vendor_factor)
        return on_hand - safety

    def fenced(self, stock: int, by_channel: Mapping[str, int]) -> int:
        """What other channels' fences still keep of `stock` (E), given what each of those
        channels holds here (`by_channel`): sum of max(0, K_f - r_f)."""
        return sum(max(0, f.kept(stock) - by_channel.get(f.channel, 0)) for f in self.kept)

    def offered(
        self,
        on_hand: int,
        reserved: int,
        safety: int,
        by_channel: Mapping[str, int],
        vendor_factor: float,
    ) -> int:
        """Units this location offers at a position: see the class's rule."""
        if self.why_not:
            return 0
        stock = self.stock(on_hand, safety, vendor_factor)
        return max(0, stock - reserved - self.fenced(stock, by_channel))


@dataclass(frozen=True, slots=True)
class Sources:
    by_location: dict[str, Source]
    eligible: frozenset[str]  # locations that may give, for inbound supply too
    table: SourceTable  # the same, as arrays, for the vectorised tally
    fenced: bool  # some location keeps stock for another channel: tally one by one
    whole: frozenset[str] = frozenset()  # locations that offer all their free units
    pickup: bool = False  # the sources of a pickup: the store's shelf and transfers to it
    channels: Mapping[int, str] = field(default_factory=dict)  # pool entries' channel numbers


def sources_for(
    locations: Mapping[str, Location],
    slots: Mapping[str, int],
    policy: AvailabilityPolicy,
    query: Query,
    channels: Mapping[int, str] | None = None,
) -> Sources:
    """Decide, for every location, whether and how fast it may serve this kind of request.
    `slots`: each location's slot in the projection's records; `channels`: the channel each
    number names in its pool entries (those the policy fences for, at least)."""
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
        channels=dict(channels or {}),
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
    return Source(location, _cannot_transfer(location, policy), location.transfer_days * 24, fences)


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
