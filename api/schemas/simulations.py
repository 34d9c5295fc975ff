"""Simulations over HTTP: what a planner asks to replay, and where it stands."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from api.schemas.common import In, Out
from api.schemas.rulesets import Version
from dom.orders.model import (
    MAX_ORDER_LINES,
    OrderId,
    OrderLine,
    PickupDelivery,
    ShipDelivery,
    unique_line_ids,
)

MAX_SIMULATED_ORDERS = 20_000
MAX_COMPARED = 4  # rule sets compared with the active one in one simulation
SimulationId = Annotated[str, Field(min_length=20, max_length=20, pattern=r"^sim_[0-9a-f]{16}$")]


class SimulatedOrderIn(In):
    """An order of the `dom allocate` instance: what the API would have routed."""

    id: OrderId
    delivery: ShipDelivery | PickupDelivery = Field(discriminator="method")
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)

    @model_validator(mode="after")
    def _line_ids_unique(self) -> SimulatedOrderIn:
        unique_line_ids(line.id for line in self.lines)
        return self


class SimulationIn(In):
    orders: list[SimulatedOrderIn] = Field(
        min_length=1, max_length=MAX_SIMULATED_ORDERS,
        description="replayed in this order against today's network and sellable stock",
    )  # fmt: skip
    rule_sets: list[Version] = Field(
        min_length=1, max_length=MAX_COMPARED,
        description="versions compared side by side with the active one",
    )  # fmt: skip
    mode: Literal["online", "batch"] = "online"

    @model_validator(mode="after")
    def _orders_unique(self) -> SimulationIn:
        ids = [order.id for order in self.orders]
        if len(set(ids)) != len(ids):
            raise ValueError("order ids must be unique in a simulation")
        return self


class SimulationOut(Out):
    id: SimulationId
    status: Literal["queued", "started", "finished", "failed", "cancelled"]
    progress: float = Field(ge=0, le=1, description="share of the work done")
    request: dict[str, Any]
    result: dict[str, Any] | None = Field(
        default=None, description="KPIs of the active version and of each rule set, side by side"
    )
    error: Annotated[str, Field(max_length=2048)] | None = None
    created_by: Annotated[str, Field(max_length=128)]
    created_at: AwareDatetime
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None


class InstanceOut(Out):
    """A `dom allocate` instance, as allocation.instance.Instance reads it."""

    locations: list[dict[str, Any]] = Field(max_length=100_000)
    stock: list[dict[str, Any]] = Field(max_length=10_000_000)
    orders: list[dict[str, Any]] = Field(max_length=MAX_SIMULATED_ORDERS)
    rules: dict[str, Any] = Field(description="the active version's, when it was started")
