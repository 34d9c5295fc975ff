"""Orders and their shipments: what the OMS submits and follows, what locations report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import EngineDep, OrdersReader, OrdersWriter
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.common import Identifier
from api.schemas.orders import (
    MAX_LISTED,
    CancelIn,
    DecisionOut,
    HistoryEntryOut,
    OrderIn,
    OrderOut,
    PickOut,
    ShipmentEventIn,
    ShipmentStateOut,
)
from dom.orders.model import OrderId, OrderStatus

router = APIRouter(prefix="/v1", tags=["orders"], route_class=LimitedRoute)
OrderPath = Annotated[OrderId, Path(description="the client's order id")]
ShipmentPath = Annotated[
    str, Path(min_length=4, max_length=80, pattern=r"^[A-Za-z0-9._:-]+-S[0-9]+$")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LISTED, description="entries at most")]


@router.post(
    "/orders", response_model=OrderOut, status_code=status.HTTP_201_CREATED,
    responses=responses(404, 409, 413),
)  # fmt: skip
def submit(body: OrderIn, engine: EngineDep, _: OrdersWriter, response: Response) -> OrderOut:
    """Route the order with the active rule set against live stock, allocate it atomically and
    answer the plan: its shipments with their costs, and what is backordered, with why. The same
    id and body again returns the first answer; the same id with another body is a 409."""
    answer, replayed = engine.orders.submit(body)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return OrderOut.model_validate(answer)


@router.get("/orders", response_model=list[OrderOut], responses=responses())
def orders_by_status(
    engine: EngineDep,
    _: OrdersReader,
    status: Annotated[OrderStatus, Query(description="escalated: the people's queue")],
    limit: Limit = 100,
) -> list[OrderOut]:
    """Orders in one status, the longest unchanged first."""
    return [OrderOut.model_validate(o) for o in engine.orders.by_status(status, limit)]


@router.get("/orders/{order_id}", response_model=OrderOut, responses=responses(404))
def read(order_id: OrderPath, engine: EngineDep, _: OrdersReader) -> OrderOut:
    return OrderOut.model_validate(engine.orders.get(order_id))


@router.get(
    "/orders/{order_id}/history", response_model=list[HistoryEntryOut], responses=responses(404)
)
def history(order_id: OrderPath, engine: EngineDep, _: OrdersReader) -> list[HistoryEntryOut]:
    """Every state change of the order and its shipments, oldest first, with its time."""
    return [HistoryEntryOut.model_validate(e) for e in engine.orders.history(order_id)]


@router.get(
    "/orders/{order_id}/explain", response_model=list[DecisionOut], responses=responses(404)
)
def explain(order_id: OrderPath, engine: EngineDep, _: OrdersReader) -> list[DecisionOut]:
    """Every routing decision made for the order: the candidates considered with the cost of
    each alone, the locations left out and why, and the plan chosen."""
    return [DecisionOut.model_validate(d) for d in engine.orders.explain(order_id)]


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, responses=responses(404, 409))
def cancel(order_id: OrderPath, body: CancelIn, engine: EngineDep, _: OrdersWriter) -> OrderOut:
    """Cancel the order, or some of its lines (whole): what has not left is released."""
    lines = None if body.lines is None else [line.id for line in body.lines]
    return OrderOut.model_validate(engine.orders.cancel(order_id, lines, body.reason))


@router.post("/orders/{order_id}/reroute", response_model=OrderOut, responses=responses(404))
def reroute(order_id: OrderPath, engine: EngineDep, _: OrdersWriter) -> OrderOut:
    """Route the order's waiting units again now, escalated ones too: a person's decision."""
    return OrderOut.model_validate(engine.orders.reroute(order_id))


@router.get("/shipments", response_model=list[PickOut], responses=responses())
def pick_list(
    engine: EngineDep,
    _: OrdersReader,
    location: Annotated[Identifier, Query(description="the location whose pick list it is")],
    limit: Limit = 100,
) -> list[PickOut]:
    """A location's open shipments (allocated or accepted), oldest first: its pick list."""
    return [PickOut.model_validate(s) for s in engine.orders.pick_list(location, limit)]


@router.get("/shipments/{shipment_id}", response_model=ShipmentStateOut, responses=responses(404))
def shipment(shipment_id: ShipmentPath, engine: EngineDep, _: OrdersReader) -> ShipmentStateOut:
    return ShipmentStateOut.model_validate(engine.orders.shipment(shipment_id))


@router.post(
    "/shipments/{shipment_id}/events", response_model=ShipmentStateOut,
    responses=responses(404, 409),
)  # fmt: skip
def shipment_event(
    shipment_id: ShipmentPath,
    body: ShipmentEventIn,
    engine: EngineDep,
    _: OrdersWriter,
    response: Response,
) -> ShipmentStateOut:
    """A location reports on its shipment: accepted, rejected (with its reason), shipped,
    ready_for_pickup, collected or cancelled. The same event again is a replay; an event the
    shipment's state does not allow is a 409 saying what it may be."""
    answer, replayed = engine.orders.post_event(shipment_id, body.type, body.reason, body.at)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ShipmentStateOut.model_validate(answer)
