"""Where a hold's units should come from, and a group of holds decided against the positions.
Pure: no I/O. The terms a hold is held to are availability's (inventory.availability.sources), so
a hold never takes what availability would not show its channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from inventory.availability.policy import AvailabilityPolicy
from inventory.availability.sources import Sources, vendor_stale
from inventory.domain.model import Capability
from inventory.domain.projected import Projected
from inventory.holds.request import HoldLine, HoldRequest, Take


@dataclass(slots=True)
class Standing:
    """A position as a group of holds is decided on: its stock and what is held there, in all and
    by channel. Taking units for a channel adds them to both; a refused hold's takes are put
    back the same way."""

    on_hand: int
    reserved: int
    safety: int
    by_channel: dict[str, int] = field(default_factory=dict)

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved - self.safety

    def take(self, channel: str, units: int) -> None:
        self.reserved += units
        self.by_channel[channel] = self.by_channel.get(channel, 0) + units

    @classmethod
    def of(cls, value: Projected) -> Standing:
        return cls(value.on_hand, value.reserved, value.safety, dict(value.by_channel))


Positions = dict[tuple[str, str], Standing]  # (location, sku) -> its standing


@dataclass(slots=True)
class Terms:
    """The availability rules a hold is held to, so that it never takes what availability would
    not show its channel: the sources of its method, store and channel (exclusions, fences,
    transfers to the pickup store) and the vendor's confidence."""

    sources: Sources
    policy: AvailabilityPolicy
    now_s: int

    def offered(self, location: str, position: Standing | Projected) -> int:
        """Units `location` offers at `position` (inventory.availability.sources.Source.offered)."""
        if location in self.sources.whole:
            return max(0, position.on_hand - position.reserved - position.safety)  # the common case
        source = self.sources.by_location.get(location)
        if source is None:
            return 0
        return source.offered(
            position.on_hand,
            position.reserved,
            position.safety,
            position.by_channel,
            self.policy.vendor.factor,
        )

    def plain(self, location: str) -> bool:
        """Offers every free unit (on_hand - reserved - safety), and nothing else limits it: SQL's
        condition `free >= units` is then exactly the hold's terms."""
        return location in self.sources.whole

    def offered_now(self, location: str, value: Projected) -> int:
        """As `offered`, on the projection's position; none from a vendor whose feed is stale."""
        source = self.sources.by_location.get(location)
        if source is not None and vendor_stale(source, value.reported_s, self.now_s, self.policy):
            return 0
        return self.offered(location, value)

    def shelf(self, location: str) -> bool:
        """The pickup store itself: its shelf is never held back by the network threshold."""
        source = self.sources.by_location.get(location)
        return source is not None and source.shelf

    def order(self, location: str, offered: int) -> tuple:
        """Where a line takes first: for pickup the store's shelf, then the fastest transfer;
        for shipping the location that offers most. Then by id."""
        source = self.sources.by_location[location]
        if self.sources.pickup:
            return not source.shelf, source.lead_hours, -offered, location
        return -offered, location


@dataclass(slots=True)
class Plan:
    """Where each line of a hold may take from, in the order to try, and on what terms."""

    lines: list[list[str]]
    held_back: list[int] | None = None  # per line: units of its SKU the network threshold keeps
    terms: Terms | None = None  # None: every free unit may be taken

    def offered(self, location: str, position: Standing | None) -> int:
        if position is None:
            return 0
        if self.terms is None:
            return max(0, position.free)
        return self.terms.offered(location, position)

    def plain(self, location: str) -> bool:
        return self.terms is None or self.terms.plain(location)

    def keep(self, index: int) -> int:
        """Units of line `index`'s SKU the network threshold holds back from it."""
        return self.held_back[index] if self.held_back else 0


def _sellable(offers: Mapping[str, int], keep: int, terms: Terms | None) -> int:
    """What a line may take in all, given what each of its locations offers: as availability
    shows it, `keep` units held back from all but the pickup shelf."""
    total = sum(offers.values())
    if not keep or terms is None:
        return total
    shelf = sum(units for loc, units in offers.items() if terms.shelf(loc))
    return total - min(total - shelf, keep)


def plan_hold(
    request: HoldRequest, projected: Mapping[str, Mapping[str, Projected]], terms: Terms
) -> Plan | str:
    """The hold's plan from the projection, or why the projection already says no: each line
    from the locations that offer its SKU (see Terms.order; a pinned line from its location
    only) and, when the engine picks a line's locations, the network threshold held back."""
    known = terms.sources.by_location
    if request.method == "pickup" and request.store not in known:
        return f"unknown pickup store {request.store!r}"
    if request.method == "pickup" and not known[request.store].location.can(Capability.pickup):
        return f"{request.store!r} is not a pickup point"
    lines, held_back = [], []
    for index, line in enumerate(request.lines):
        here = projected[line.sku]
        if line.location is not None and line.location not in known:
            return f"line {index}: unknown location {line.location!r}"
        if line.location is not None:
            value = here.get(line.location)
            offers = {
                line.location: terms.offered_now(line.location, value) if value is not None else 0
            }
            options, keep = [line.location], 0
        else:
            offers = {loc: terms.offered_now(loc, value) for loc, value in here.items()}
            offers = {loc: units for loc, units in offers.items() if units > 0}
            options = sorted(offers, key=lambda loc: terms.order(loc, offers[loc]))
            keep = terms.policy.threshold(line.sku)
        lines.append(options)
        held_back.append(keep)
        if _sellable(offers, keep, terms) < line.quantity:
            return f"line {index}: {line.quantity} x {line.sku} not available"
    return Plan(lines, held_back, terms)


def _planning_order(item: tuple[int, HoldLine]) -> tuple[str, bool]:
    """Lines by SKU, and within a SKU the lines pinned to a location first: they have one place
    to take from, the others may take from any, so the answer does not depend on line order."""
    _, line = item
    return line.sku, line.location is None


def decide_group(
    items: Sequence[tuple[HoldRequest, Plan]], positions: Positions
) -> list[tuple[Take, ...] | str]:
    """Decide holds in arrival order against `positions` (location, sku), which it takes from.

    Each hold takes every line, from its planned locations in order, as much as each offers on
    the hold's terms, or nothing (its partial takes are put back): a take adds to the position's
    reserved and to its hold's channel's units there, which fences count against; a line whose SKU the network
    threshold would dip into is refused. Returns, per hold, its takes or the reason it was refused.
    """
    decisions: list[tuple[Take, ...] | str] = []
    for request, plan in items:
        taken: list[Take] = []
        refusal = ""
        for index, line in sorted(enumerate(request.lines), key=_planning_order):
            remaining = line.quantity
            if keep := plan.keep(index):
                offers = {
                    loc: plan.offered(loc, positions.get((loc, line.sku)))
                    for loc in plan.lines[index]
                }
                if _sellable(offers, keep, plan.terms) < remaining:
                    refusal = f"line {index}: {line.quantity} x {line.sku} not available"
                    break
            for location in plan.lines[index]:
                position = positions.get((location, line.sku))
                give = min(remaining, plan.offered(location, position))
                if give > 0:
                    position.take(request.channel, give)  # type: ignore[union-attr]
                    taken.append(Take(index, location, line.sku, give))
                    remaining -= give
                if remaining == 0:
                    break
            if remaining:
                refusal = f"line {index}: {remaining} of {line.quantity} x {line.sku} not available"
                break
        if refusal:
            for take in taken:
                positions[(take.location, take.sku)].take(request.channel, -take.quantity)
            decisions.append(refusal)
        else:
            decisions.append(tuple(sorted(taken, key=lambda t: (t.line, t.location))))
    return decisions


def plain(
    items: Sequence[tuple[HoldRequest, Plan]], decisions: Sequence[tuple[Take, ...] | str]
) -> bool:
    """Whether every take of `decisions` is at a position its hold's terms call plain (see
    Terms.plain): then SQL's `free >= units` holds the group to its terms exactly."""
    return all(
        plan.plain(take.location)
        for (_, plan), decision in zip(items, decisions, strict=True)
        if not isinstance(decision, str)
        for take in decision
    )
