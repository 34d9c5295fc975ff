"""Orders over HTTP: what the OMS sends and what it is answered. The order itself is the
lifecycle's own input model (dom.orders.model.OrderIn): one vocabulary with `dom allocate`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from api.schemas.common import CLIENT_TEXT, Identifier, In, Out
from dom.orders.model import (
    MAX_ORDER_LINES,
    OrderIn,
    OrderStatus,
    RejectionReason,
    ShipmentEvent,
    ShipmentStatus,
)

__all__ = ["OrderIn"]
MAX_REASON_CHARS = 512
MAX_LISTED = 1_000  # entries of one list answer (pick lists, the people's queue)
Money = Annotated[
    float, Field(ge=0, allow_inf_nan=False, description="in the cost model's currency")
]
Units = Annotated[int, Field(ge=0, le=1_000_000)]
Text = Annotated[str, Field(max_length=4096)]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_REASON_CHARS, pattern=CLIENT_TEXT)
]
ShipmentId = Annotated[str, Field(max_length=80)]


class LineUnitsOut(Out):
    id: Identifier
    quantity: Units


class ShipmentOut(Out):
    id: ShipmentId
    location: Identifier
    route: Literal["ship", "shelf", "transfer"]
    status: ShipmentStatus
    lines: list[LineUnitsOut] = Field(max_length=MAX_ORDER_LINES)
    cost: Money
    cost_breakdown: dict[Annotated[str, Field(max_length=32)], float] = Field(max_length=16)
    distance_km: float = Field(ge=0, description="from the location to the address or pickup store")
    reason: Text = Field(description="why the plan chose this shipment")
    rejection: Annotated[str, Field(max_length=32)] | None = None
    rule_set: Annotated[str, Field(max_length=64)]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class BackorderOut(Out):
    id: Identifier = Field(description="the order line")
    sku: Identifier
    quantity: Units
    reason: Text
    escalated: bool = Field(description="waits for a person rather than for stock")
    since: AwareDatetime


class OrderLineOut(Out):
    id: Identifier
    sku: Identifier
    quantity: Units
    cancelled: Units


class OrderOut(Out):
    id: Identifier
    status: OrderStatus
    rule_set: Annotated[str, Field(max_length=64)] = Field(description="the version that routed it")
    channel: Annotated[str, Field(max_length=32)]
    method: Literal["ship", "pickup"]
    cost: Money = Field(description="shipments that stand, backorder penalties, rule penalties")
    shipments: list[ShipmentOut] = Field(
        max_length=10_000, description="every shipment, rejected and cancelled ones too"
    )
    backordered: list[BackorderOut] = Field(max_length=MAX_ORDER_LINES)
    lines: list[OrderLineOut] = Field(max_length=MAX_ORDER_LINES)
    rejections: Units
    created_at: AwareDatetime
    updated_at: AwareDatetime


class HistoryEntryOut(Out):
    at: AwareDatetime
    kind: Annotated[str, Field(max_length=32)]
    shipment: ShipmentId | None = None
    detail: dict[str, Any]


class DecisionOut(Out):
    """One routing decision, kept whole: what was considered, what each alternative costs,
    what was left out and why, and the plan chosen."""

    at: AwareDatetime
    cause: Annotated[str, Field(max_length=32)] = Field(
        description="submitted, rejected, stock_arrived, short, cancelled_lines, requested"
    )
    rule_set: Annotated[str, Field(max_length=64)]
    network_version: Annotated[str, Field(max_length=64)]
    method: Annotated[str, Field(max_length=64)] = Field(description="how the solver decided")
    candidates: list[dict[str, Any]] = Field(max_length=200)
    excluded: list[dict[str, Any]] = Field(max_length=400)
    plan: dict[str, Any]


class CancelLineIn(In):
    id: Identifier


class CancelIn(In):
    lines: list[CancelLineIn] | None = Field(
        default=None, min_length=1, max_length=MAX_ORDER_LINES,
        description="the lines to cancel, whole; none: the whole order",
    )  # fmt: skip
    reason: Reason = "cancelled by the customer"


class ShipmentEventIn(In):
    type: ShipmentEvent
    reason: RejectionReason | None = Field(default=None, description="a rejection's, only")
    at: AwareDatetime | None = Field(
        default=None, description="when it happened (a parcel's departure); now when omitted"
    )


class ShipmentStateOut(Out):
    id: ShipmentId
    order: Identifier
    location: Identifier
    route: Literal["ship", "shelf", "transfer"]
    status: ShipmentStatus
    lines: list[dict[str, Any]] = Field(max_length=MAX_ORDER_LINES)
    order_status: OrderStatus


class PickOut(Out):
    id: ShipmentId
    order: Identifier
    location: Identifier
    route: Literal["ship", "shelf", "transfer"]
    status: ShipmentStatus
    lines: list[dict[str, Any]] = Field(max_length=MAX_ORDER_LINES)
