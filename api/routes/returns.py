"""Returns: registered by the OMS or a store, routed line by line, received at destination."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import EngineDep, OrdersReader, OrdersWriter
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.common import Identifier
from api.schemas.returns import MAX_LISTED, ReceiptIn, ReturnIn, ReturnOut
from dom.orders.model import OrderId

router = APIRouter(prefix="/v1", tags=["returns"], route_class=LimitedRoute)
ReturnPath = Annotated[OrderId, Path(description="the client's return id")]


@router.post(
    "/returns", response_model=ReturnOut, status_code=status.HTTP_201_CREATED,
    responses=responses(409, 413),
)  # fmt: skip
def register(body: ReturnIn, engine: EngineDep, _: OrdersWriter, response: Response) -> ReturnOut:
    """Register a return and route each line: restocked at the drop-off store where it sells
    there, else where it is worth most net of transport and handling; damaged goods to a returns
    centre. A return of an order gives back no more than the customer has. The same id and body
    again returns the return as it stands; the same id with another body is a 409."""
    answer, replayed = engine.returns.register(body)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ReturnOut.model_validate(answer)


@router.get("/returns", response_model=list[ReturnOut], responses=responses())
def awaiting(
    engine: EngineDep,
    _: OrdersReader,
    destination: Annotated[Identifier, Query(description="the location expecting them")],
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED, description="returns at most")] = 100,
) -> list[ReturnOut]:
    """Returns with lines on their way to a location and not yet received there, oldest first."""
    return [ReturnOut.model_validate(r) for r in engine.returns.awaiting(destination, limit)]


@router.get("/returns/{return_id}", response_model=ReturnOut, responses=responses(404))
def read(return_id: ReturnPath, engine: EngineDep, _: OrdersReader) -> ReturnOut:
    return ReturnOut.model_validate(engine.returns.get(return_id))


@router.post(
    "/returns/{return_id}/receive", response_model=ReturnOut, responses=responses(404, 409)
)
def receive(
    return_id: ReturnPath,
    body: ReceiptIn,
    engine: EngineDep,
    _: OrdersWriter,
    response: Response,
) -> ReturnOut:
    """A destination reports the return's lines bound for it as received (or those named):
    new and opened units re-enter its stock, damaged ones are recorded and never sold. A receipt
    reported again is a replay; lines bound elsewhere are a 409."""
    lines = None if body.lines is None else [line.id for line in body.lines]
    answer, replayed = engine.returns.receive(return_id, body.location, lines, body.at)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ReturnOut.model_validate(answer)
