"""What a hold asks for: its lines, method, channel and time to live, and the units it takes.
Pure values, validated at the boundary.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from inventory.domain.text import CLIENT_TEXT

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

    id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=CLIENT_TEXT)]
    lines: list[HoldLine] = Field(min_length=1, max_length=MAX_HOLD_LINES)
    method: Literal["ship", "pickup"] = "ship"
    store: Identifier | None = None
    channel: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=CLIENT_TEXT)] = (
        "web"
    )
    # A cart hold expires: after `ttl_s`, or the engine's configured TTL when it names none. An
    # order's allocation is held until consumed, released or shipped: it names no TTL.
    kind: Literal["cart", "allocation"] = "cart"
    ttl_s: int | None = Field(default=None, gt=0, le=MAX_HOLD_TTL_S)

    @model_validator(mode="after")
    def _pickup_needs_a_store(self) -> HoldRequest:
        if self.method == "pickup" and not self.store:
            raise ValueError("a pickup hold names its store")
        if self.kind == "allocation" and self.ttl_s is not None:
            raise ValueError("an allocation does not expire: it names no ttl_s")
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
