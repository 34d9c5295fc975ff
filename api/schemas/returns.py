"""Returns over HTTP: what the OMS or a store registers, what a destination reports, and what
they are answered. The return itself is the lifecycle's own input model (dom.returns.model)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from api.schemas.common import Identifier, In, Out
from api.schemas.orders import MAX_LISTED, Money, Text, Units
from dom.orders.model import MAX_ORDER_LINES
from dom.returns.model import Condition, ReturnIn, ReturnStatus

__all__ = ["MAX_LISTED", "ReturnIn"]
Km = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Signed = Annotated[float, Field(allow_inf_nan=False, description="cost less value: may be < 0")]


class ReturnLineOut(Out):
    id: Identifier
    sku: Identifier
    quantity: Units
    condition: Condition
    order_line: Identifier | None = None
    price: Money = Field(description="per unit: what its value where it sells was reckoned from")
    destination: Identifier = Field(description="where the line goes: restocked, or handled")
    route: Annotated[str, Field(max_length=32)] = Field(
        description="restock at drop-off, to warehouse, to store, to dropship"
    )
    distance_km: Km
    cost: Money = Field(description="transport and handling")
    value: Money = Field(description="what the units are worth where they go")
    net_cost: Signed
    cost_breakdown: dict[Annotated[str, Field(max_length=32)], float] = Field(max_length=8)
    reason: Text
    received_at: AwareDatetime | None = Field(description="when the destination reported it")
    restocked: bool = Field(description="received and back in the ledger as sellable stock")


class ReturnOut(Out):
    id: Identifier
    order: Identifier | None = None
    status: ReturnStatus
    rule_set: Annotated[str, Field(max_length=64)] = Field(description="whose costs routed it")
    drop_off: dict[Annotated[str, Field(max_length=8)], str | float] = Field(max_length=2)
    cost: Money
    net_cost: Signed
    lines: list[ReturnLineOut] = Field(max_length=MAX_ORDER_LINES)
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ReceiptLineIn(In):
    id: Identifier


class ReceiptIn(In):
    location: Identifier = Field(description="the destination reporting the receipt")
    lines: list[ReceiptLineIn] | None = Field(
        default=None, min_length=1, max_length=MAX_ORDER_LINES,
        description="the lines received, whole; none: every line bound for the location",
    )  # fmt: skip
    at: AwareDatetime | None = Field(
        default=None, description="when the units arrived; now when omitted"
    )
