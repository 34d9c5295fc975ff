"""Checkout: availability of a SKU or a cart, why, and cart reservations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from api.deps import AvailabilityReader, EngineDep, ReservationWriter
from api.limits import LimitedRoute
from api.problems import ProblemError, responses
from api.schemas.checkout import (
    MAX_QUERY_UNITS,
    AvailabilityOut,
    CartIn,
    CartOut,
    ExplanationOut,
    Method,
    ReservationIn,
    ReservationOut,
    Where,
)
from api.schemas.common import Channel, ClientId, Identifier, In
from api.schemas.operations import HealthOut
from api.views import availability_out, cart_out, explanation_out, reservation_out, to_query
from dom import checkout
from inventory import AsyncAvailabilityReader, HoldRequest, HoldStatus, ReservationConflict

router = APIRouter(prefix="/v1", tags=["checkout"], route_class=LimitedRoute)


async def checkout_reader(request: Request) -> AsyncAvailabilityReader:
    """Async, so FastAPI calls it on the event loop: a plain `def` dependency costs every
    request a trip through the thread pool, which the read itself no longer makes."""
    return request.app.state.api.availability


Reader = Annotated[AsyncAvailabilityReader, Depends(checkout_reader)]


@router.get("/ping", response_model=HealthOut, responses=responses())
async def ping(_: AvailabilityReader) -> HealthOut:
    """Nothing but the key check availability makes: a client tries its key and the round trip
    here. The HTTP benchmark's baseline (benchmarks/http): what availability costs beyond it is
    the availability itself."""
    return HealthOut(status="ok")


class AvailabilityQuery(Where):
    """`GET /v1/availability/{sku}`'s query: where the goods go, and how many to promise."""

    quantity: int = Field(default=1, ge=1, le=MAX_QUERY_UNITS)


def availability_query(request: Request) -> AvailabilityQuery:
    """The query string checked by its model in one pass. Declared parameters would be checked
    one by one by FastAPI, which on this route cost more than the availability itself
    (benchmarks/RESULTS.md); the OpenAPI lists them all the same (`documented`)."""
    given = request.query_params
    fields = AvailabilityQuery.model_fields
    return query_of(AvailabilityQuery, {name: given[name] for name in fields if name in given})


def query_of(model: type[In], values: dict[str, Any]) -> Any:
    """`model` of query parameters; invalid input is refused as FastAPI refuses it (422)."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in error.errors()]
        raise RequestValidationError(errors) from None


def documented(model: type[BaseModel]) -> dict:
    """The OpenAPI parameters of a query read by `model`, as FastAPI would list them."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    return {
        "parameters": [
            {"name": name, "in": "query", "required": name in required, "schema": field}
            for name, field in schema["properties"].items()
        ]
    }


@router.get(
    "/availability/{sku}",
    response_model=AvailabilityOut,
    responses=responses(404),
    openapi_extra=documented(AvailabilityQuery),
)
async def availability(
    sku: Annotated[Identifier, Path()], request: Request, _: AvailabilityReader
) -> AvailabilityOut:
    """What may be sold of one SKU now, by method, and when `quantity` units can be promised."""
    # The query and the reader are taken from the request, not as dependencies: FastAPI's
    # resolution of each costs this hot route a tenth of its time (benchmarks/RESULTS.md).
    query = availability_query(request)
    reader = request.app.state.api.availability
    found = await checkout.availability(reader, sku, to_query(query, query.quantity))
    return availability_out(found)


@router.post("/availability/carts", response_model=CartOut, responses=responses(413))
async def cart(body: CartIn, reader: Reader, request: Request, _: AvailabilityReader) -> CartOut:
    """Every line of a cart, each with its own quantity's promise, and when the whole cart can be met."""
    max_lines = request.app.state.api.engine.settings.cart_max_lines  # no thread pool trip
    if len(body.lines) > max_lines:
        raise ProblemError(413, "cart-too-large", f"a cart has at most {max_lines} lines")
    lines = [(line.sku, line.quantity) for line in body.lines]
    return cart_out(await checkout.cart(reader, lines, to_query(body, 1)))


@router.get("/availability/{sku}/explain", response_model=ExplanationOut, responses=responses())
async def explain(
    sku: Annotated[Identifier, Path()],
    reader: Reader,
    _: AvailabilityReader,
    quantity: Annotated[int, Query(ge=1, le=MAX_QUERY_UNITS)] = 1,
    method: Method = "ship",
    store: Identifier | None = None,
    channel: Channel = "web",
) -> ExplanationOut:
    """The same answer kept whole: every location's part in it, and why it counts or not."""
    where = query_of(Where, {"method": method, "store": store, "channel": channel})
    found = await checkout.explain(reader, sku, to_query(where, quantity))
    return explanation_out(found)


@router.post(
    "/reservations",
    response_model=ReservationOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(409),
)
def reserve(
    body: ReservationIn, engine: EngineDep, _: ReservationWriter, response: Response
) -> ReservationOut:
    """Hold every line or none, for `ttl_s` (or the engine's TTL). The same id and body again
    returns the first answer; the same id with another body is a 409."""
    request = HoldRequest(**body.model_dump(), kind="cart")
    try:
        outcome = checkout.hold(engine.reservations, request)
    except checkout.HoldRefused as refused:
        raise ProblemError(409, "not-available", str(refused), lines=refused.lines) from None
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return reservation_out(engine.reservations.get(outcome.id))


@router.get(
    "/reservations/{reservation_id}", response_model=ReservationOut, responses=responses(404)
)
def read_reservation(
    reservation_id: Annotated[ClientId, Path()], engine: EngineDep, _: ReservationWriter
) -> ReservationOut:
    """A reservation as recorded: where its units are held and where it stands."""
    return reservation_out(engine.reservations.get(reservation_id))


@router.delete(
    "/reservations/{reservation_id}", response_model=ReservationOut, responses=responses(404, 409)
)
def release(
    reservation_id: Annotated[ClientId, Path()], engine: EngineDep, _: ReservationWriter
) -> ReservationOut:
    """Give a held reservation's units back. Releasing again, or one that expired, changes nothing;
    one an order consumed is the order's now (409)."""
    ended = engine.reservations.release(reservation_id)
    if ended in (HoldStatus.consumed, HoldStatus.settled):
        raise ReservationConflict(
            f"reservation {reservation_id!r} is {ended.value}: an order holds it"
        )
    return reservation_out(engine.reservations.get(reservation_id))
