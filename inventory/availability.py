"""Available-to-sell by fulfilment method, with a promise and an explanation. Pure functions.

ship:   every active ship-capable location; stores only when ship-from-store is allowed, and above
        their buffer (safety); drop-ship vendors at the policy's confidence, and not at all once
        their feed is older than the policy allows. The network threshold holds back the last units.
pickup: the pickup store's own shelf now, plus what transfer-capable nodes can bring within the
        policy's transfer window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inventory.model import Capability, Location, LocationType
from inventory.policy import AvailabilityPolicy
from inventory.projection import Projected


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


@dataclass(frozen=True, slots=True)
class Query:
    method: str = "ship"  # ship | pickup
    store: str | None = None
    channel: str = "web"
    quantity: int = 1
    on_date: datetime | None = None


def compute(
    sku: str,
    positions: Mapping[str, Projected],
    inbound: Mapping[str, int],
    locations: Mapping[str, Location],
    policy: AvailabilityPolicy,
    query: Query,
    now: datetime,
) -> SkuAvailability:
    if query.method == "pickup":
        return _pickup(sku, positions, inbound, locations, policy, query, now)
    return _ship(sku, positions, inbound, locations, policy, query, now)


def _sellable(
    location: Location, value: Projected, policy: AvailabilityPolicy, channel: str, now_s: int
) -> tuple[int, int, str]:
    """(units this location may sell to `channel`, units fenced for others, exclusion reason)."""
    free = value.available
    fenced = sum(
        f.fenced(free)
        for f in policy.fences
        if f.channel != channel and f.applies_to(location.id, location.type.value)
    )
    free = max(0, free - fenced)
    if not location.active:
        return 0, fenced, "location inactive"
    if location.type is LocationType.dropship:
        if now_s - value.reported_s > policy.vendor.max_age_hours * 3600:
            return 0, fenced, f"vendor feed older than {policy.vendor.max_age_hours:g} h"
        return int(free * policy.vendor.factor), fenced, ""
    return free, fenced, ""


def _contribution(
    location: Location, value: Projected, units: int, fenced: int, lead: float, why: str
) -> Contribution:
    return Contribution(
        location.id,
        location.type.value,
        value.on_hand,
        value.reserved,
        value.safety,
        fenced,
        units if not why else 0,
        lead,
        value.reported_s,
        why,
    )


def _ship(sku, positions, inbound, locations, policy, query, now) -> SkuAvailability:
    now_s = int(now.timestamp())
    parts: list[Contribution] = []
    for loc_id, value in sorted(positions.items()):
        location = locations.get(loc_id)
        if location is None:
            continue
        units, fenced, why = _sellable(location, value, policy, query.channel, now_s)
        why = why or _cannot_ship(location, policy)
        parts.append(_contribution(location, value, units, fenced, location.lead_time_hours, why))
    total = sum(p.counted for p in parts)
    held = min(total, policy.threshold(sku))
    result = SkuAvailability(sku, "ship", total - held, held_back=held, contributions=parts)
    eligible = {p.location for p in parts if not p.excluded} | {
        loc
        for loc, _, _ in _inbound_rows(inbound, None)
        if loc in locations and not _cannot_ship(locations[loc], policy)
    }
    result.promise = _promise(parts, inbound, eligible, locations, query.quantity, now, held)
    if query.on_date is not None:
        result.on_date = result.available + _inbound_until(inbound, eligible, query.on_date)
    return result


def _cannot_ship(location: Location, policy: AvailabilityPolicy) -> str:
    if not location.can(Capability.ship):
        return "cannot ship parcels" if location.active else "location inactive"
    if location.type is LocationType.store and not policy.ship_from_store:
        return "ship-from-store not allowed"
    return ""


def _pickup(sku, positions, inbound, locations, policy, query, now) -> SkuAvailability:
    now_s = int(now.timestamp())
    store = locations.get(query.store or "")
    parts: list[Contribution] = []
    shelf = transferable = 0
    for loc_id, value in sorted(positions.items()):
        location = locations.get(loc_id)
        if location is None:
            continue
        units, fenced, why = _sellable(location, value, policy, query.channel, now_s)
        if location.id == query.store:
            if not why and not location.can(Capability.pickup):
                why = "not a pickup point"
            lead = location.lead_time_hours
            shelf += 0 if why else units
        else:
            lead = location.transfer_days * 24
            if not why and not location.can(Capability.transfer):
                why = "cannot transfer to stores"
            elif not why and location.transfer_days > policy.transfer_days_max:
                why = f"transfer takes more than {policy.transfer_days_max:g} days"
            transferable += 0 if why else units
        parts.append(_contribution(location, value, units, fenced, lead, why))
    if store is None or not store.can(Capability.pickup):
        parts = [_as_excluded(p, "pickup store unknown or not a pickup point") for p in parts]
        shelf = transferable = 0
    held = min(transferable, policy.threshold(sku))
    result = SkuAvailability(
        sku,
        "pickup",
        shelf + transferable - held,
        shelf,
        transferable - held,
        held,
        contributions=parts,
    )
    eligible = {p.location for p in parts if not p.excluded}
    result.promise = _promise(parts, inbound, eligible, locations, query.quantity, now, held)
    if query.on_date is not None:
        result.on_date = result.available + _inbound_until(inbound, eligible, query.on_date)
    return result


def _as_excluded(part: Contribution, why: str) -> Contribution:
    return Contribution(
        part.location,
        part.type,
        part.on_hand,
        part.reserved,
        part.safety,
        part.fenced,
        0,
        part.lead_hours,
        part.reported_s,
        why,
    )


def _promise(parts, inbound, eligible, locations, quantity, now, held) -> Promise:
    """Earliest time `quantity` units can leave (ship) or be ready (pickup): fastest sources first,
    then inbound supply by expected date."""
    need = quantity + held
    for part in sorted((p for p in parts if p.counted > 0), key=lambda p: p.lead_hours):
        need -= part.counted
        if need <= 0:
            return Promise(quantity, now + timedelta(hours=part.lead_hours))
    for loc_id, expected_s, units in sorted(_inbound_rows(inbound, eligible), key=lambda r: r[1]):
        need -= units
        if need <= 0:
            lead = locations[loc_id].lead_time_hours
            return Promise(
                quantity,
                datetime.fromtimestamp(expected_s, now.tzinfo) + timedelta(hours=lead),
                True,
            )
    return Promise(quantity, None)


def _inbound_rows(inbound: Mapping[str, int], eligible: set[str] | None):
    for key, units in inbound.items():
        loc_id, _, expected = key.rpartition("|")
        if eligible is None or loc_id in eligible:
            yield loc_id, int(expected), units


def _inbound_until(inbound: Mapping[str, int], eligible: set[str], on_date: datetime) -> int:
    limit = int(on_date.timestamp())
    return sum(
        units for _, expected_s, units in _inbound_rows(inbound, eligible) if expected_s <= limit
    )
