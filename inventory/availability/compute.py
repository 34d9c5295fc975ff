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

import numpy as np

from inventory.availability.policy import AvailabilityPolicy
from inventory.availability.sources import Query, Sources, vendor_stale
from inventory.availability.tally import Tally, tally
from inventory.domain import records
from inventory.domain.model import short_units
from inventory.domain.projected import NO_CHANNELS


@dataclass(frozen=True, slots=True)
class Contribution:
    """One location's part in an answer, with every adjustment applied, for `explain`."""

    location: str
    type: str
    on_hand: int
    reserved: int
    safety: int
    fenced: int  # what other channels' fences still keep here from the asking channel
    counted: int  # units this location adds to the answer
    lead_hours: float
    reported_s: int
    excluded: str = ""  # why it adds nothing, when it adds nothing
    short: int = 0  # reserved units its stock no longer backs: its holds are short
    by_channel: Mapping[str, int] = field(default_factory=dict)  # reserved, by fenced channel


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
    quantity: int | None = None,
) -> SkuAvailability:
    """`positions`: the SKU's packed record as the projection holds it (inventory.domain.records).

    `counted` is the SKU's tally when the caller has already made it (inventory.availability.tally.tally_many).
    `quantity`, when given, is promised instead of the query's (a cart line's own)."""
    wanted = quantity or query.quantity
    now_s = int(now.timestamp())
    parts: list[Contribution] = []
    if detail or sources.fenced:
        counted = _tally_each(positions, sources, policy, now_s, parts if detail else None)
    elif counted is None:
        counted = tally(
            positions,
            sources.table,
            now_s,
            policy.vendor,
        )
    held = min(counted.total - counted.shelf, policy.threshold(sku))
    result = SkuAvailability(
        sku, query.method, counted.total - held, held_back=held, contributions=parts
    )
    if query.method == "pickup":
        result.shelf, result.transferable = counted.shelf, counted.total - counted.shelf - held
    result.promise = _promise(counted, inbound, sources, wanted + held, wanted, now)
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
    """The same tally as inventory.availability.tally, one location at a time, keeping each one's part."""
    offers: list[tuple[float, int]] = []
    shelf = 0
    entries = records.unpack(positions)
    at = sources.table.index_of(entries["slot"]).tolist()  # -1 for pool entries too
    known = sorted(
        (sources.table.ids[i], entry)
        for i, entry in zip(at, entries.tolist(), strict=True)
        if i >= 0
    )  # locations the network no longer has are left out
    held_at = _held_by_channel(entries, sources)
    for loc_id, (_, slot, reported, on_hand, reserved, safety) in known:
        source = sources.by_location[loc_id]
        held = held_at.get(slot, NO_CHANNELS)
        stock = source.stock(on_hand, safety, policy.vendor.factor)
        why, fenced, units = source.why_not, source.fenced(stock, held), 0
        if not why and vendor_stale(source, reported, now_s, policy):
            why = f"vendor feed older than {policy.vendor.max_age_hours:g} h"
        if not why:
            units = source.offered(on_hand, reserved, safety, held, policy.vendor.factor)
        if units > 0:
            offers.append((source.lead_hours, units))
            shelf += units if source.shelf else 0
        if parts is not None:
            location, short = source.location, short_units(on_hand, reserved, safety)
            if short and not why:
                why = f"short: no stock behind {short} of its {reserved} reserved units"
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
                    short,
                    dict(held),
                )
            )
    offers.sort(key=lambda offer: offer[0])
    leads = np.array([lead for lead, _ in offers], dtype=np.float64)
    cumulative = np.cumsum(np.array([units for _, units in offers], dtype=np.int64))
    return Tally(int(cumulative[-1]) if offers else 0, shelf, leads, cumulative)


def _held_by_channel(entries: np.ndarray, sources: Sources) -> dict[int, dict[str, int]]:
    """What each channel holds, by location slot, from the record's pool entries (negative
    slots): only the channels whose numbers `sources` knows, which the policy's fences name."""
    pools = entries[entries["slot"] < 0]
    held: dict[int, dict[str, int]] = {}
    for _, slot, _, _, reserved, _ in pools.tolist():
        at, number = records.pool_of(slot)
        channel = sources.channels.get(number)
        if channel is not None and reserved:
            held.setdefault(at, {})[channel] = reserved
    return held


def _promise(
    counted: Tally, inbound, sources: Sources, need: int, quantity: int, now: datetime
) -> Promise:
    """Earliest time `quantity` units can leave (ship) or be ready (pickup): fastest sources first,
    then inbound supply by expected date."""
    reached = int(counted.cumulative.searchsorted(need))
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
