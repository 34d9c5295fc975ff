"""Hold requests and where their units should come from. Pure: no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from inventory.model import Capability, Location, LocationType
from inventory.policy import AvailabilityPolicy
from inventory.projection import Projected

MAX_HOLD_LINES = 100
MAX_LINE_UNITS = 10_000
MAX_HOLD_TTL_S = 7 * 24 * 3600

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")
]


class HoldLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Identifier
    quantity: int = Field(gt=0, le=MAX_LINE_UNITS)
    location: Identifier | None = None  # pin the line to one location; otherwise the engine picks


class HoldRequest(BaseModel):
    """A cart hold or an order's allocation: all lines or none. `id` makes a retry safe."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    lines: list[HoldLine] = Field(min_length=1, max_length=MAX_HOLD_LINES)
    method: Literal["ship", "pickup"] = "ship"
    store: Identifier | None = None
    channel: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "web"
    ttl_s: int | None = Field(
        default=None, gt=0, le=MAX_HOLD_TTL_S
    )  # None: until consumed or released

    @model_validator(mode="after")
    def _pickup_needs_a_store(self) -> HoldRequest:
        if self.method == "pickup" and not self.store:
            raise ValueError("a pickup hold names its store")
        return self

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json(exclude={"id"}).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Take:
    """Units of one line to take from one location."""

    line: int
    location: str
    sku: str
    quantity: int


def may_serve(location: Location, request: HoldRequest, policy: AvailabilityPolicy) -> bool:
    if request.method == "pickup":
        return location.id == request.store and location.can(Capability.pickup)
    if location.type is LocationType.store and not policy.ship_from_store:
        return False
    return location.can(Capability.ship)


def candidates(
    request: HoldRequest,
    line: HoldLine,
    projected: Mapping[str, Projected],
    locations: Mapping[str, Location],
    policy: AvailabilityPolicy,
) -> list[str]:
    """Locations to try for a line, most available first. A pinned line has exactly one."""
    if line.location is not None:
        return [line.location]
    eligible = [
        (value.available, loc_id)
        for loc_id, value in projected.items()
        if loc_id in locations
        and value.available > 0
        and may_serve(locations[loc_id], request, policy)
    ]
    return [loc_id for _, loc_id in sorted(eligible, key=lambda x: (-x[0], x[1]))]


def decide_group(
    items: Sequence[tuple[HoldRequest, list[list[str]]]], free: dict[tuple[str, str], int]
) -> list[tuple[Take, ...] | str]:
    """Decide holds in arrival order against `free` units per (location, sku), which it consumes.

    Each hold takes every line, from its planned locations in order, or nothing (its partial takes
    are put back). Returns, per hold, its takes or the reason it was refused.
    """
    decisions: list[tuple[Take, ...] | str] = []
    for request, plan in items:
        taken: list[Take] = []
        refusal = ""
        for index, line in sorted(enumerate(request.lines), key=lambda item: item[1].sku):
            remaining = line.quantity
            for location in plan[index]:
                give = min(remaining, free.get((location, line.sku), 0))
                if give > 0:
                    free[(location, line.sku)] -= give
                    taken.append(Take(index, location, line.sku, give))
                    remaining -= give
                if remaining == 0:
                    break
            if remaining:
                refusal = f"line {index}: {remaining} of {line.quantity} x {line.sku} not available"
                break
        if refusal:
            for take in taken:
                free[(take.location, take.sku)] += take.quantity
            decisions.append(refusal)
        else:
            decisions.append(tuple(sorted(taken, key=lambda t: (t.line, t.location))))
    return decisions
