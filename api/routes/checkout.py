"""Checkout: availability of a SKU or a cart, why, and cart reservations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from api import metrics
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
from api.views import (
    availability_out,
    cart_out,
    explanation_out,
    hold_out,
    reservation_out,
    to_query,
)
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


class AvailabilityAsked(Where):
    """What `GET /v1/availability/{sku}` asks: the SKU (in the path), where the goods go and
    how many units to promise (in the query)."""

    sku: Identifier
    quantity: int = Field(default=1, ge=1, le=MAX_QUERY_UNITS)


IN_PATH = frozenset({"sku"})
IN_QUERY = tuple(name for name in AvailabilityAsked.model_fields if name not in IN_PATH)


def availability_asked(request: Request) -> AvailabilityAsked:
    """The path and query checked by their model in one pass. Declared parameters are checked
    one by one by FastAPI, at about 15 µs each here, which on this hot route cost more than
    the availability itself (benchmarks/RESULTS.md); the OpenAPI lists them all the same
    (`documented`)."""
    given = request.query_params
    values = {name: given[name] for name in IN_QUERY if name in given}
    return checked(AvailabilityAsked, {**values, **request.path_params})


def checked(model: type[In], values: dict[str, Any]) -> Any:
    """`model` of a request's path and query parameters; input it refuses gets the 422 that
    FastAPI's own checks give, each error placed in the path or the query."""
    try:
        return model.model_validate(values)
    except (ValidationError, RequestValidationError) as error:  # In may raise the latter itself
        errors = [{**e, "loc": (_where(e["loc"]), *e["loc"])} for e in error.errors()]
        raise RequestValidationError(errors) from None


def _where(loc: tuple) -> str:
    """Where FastAPI would place an input error: a path parameter's in the path, the rest
    (a query parameter's, or the model's own, as a pickup without a store) in the query."""
    return "path" if loc[:1] and loc[0] in IN_PATH else "query"


def documented(model: type[BaseModel]) -> dict:
    """The OpenAPI parameters of a path and query read by `model`, as FastAPI would list them."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    listed = sorted(schema["properties"].items(), key=lambda item: item[0] not in IN_PATH)
    return {
        "parameters": [
            {"name": name, "in": "path" if name in IN_PATH else "query",
             "required": name in required, "schema": field}
            for name, field in listed
        ]
    }  # fmt: skip


# Registered before the SKU's own route: a SKU may hold a slash, and that route takes the rest.
# A path no SKU can make (a line break in it) matches no route: 404.
@router.get(
    "/availability/{sku:path}/explain", response_model=ExplanationOut, responses=responses(404)
)
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
    where = checked(Where, {"method": method, "store": store, "channel": channel})
    found = await checkout.explain(reader, sku, to_query(where, quantity))
    return explanation_out(found)


@router.get(
    "/availability/{sku:path}",
    response_model=AvailabilityOut,
    responses=responses(404),
    openapi_extra=documented(AvailabilityAsked),
)
async def availability(request: Request, _: AvailabilityReader) -> AvailabilityOut:
    """What may be sold of one SKU now, by method, and when `quantity` units can be promised."""
    # What is asked, and the reader, are taken from the request rather than declared as
    # parameters and dependencies: FastAPI's handling of those costs more than the answer.
    asked = availability_asked(request)
    reader = request.app.state.api.availability
    found = await checkout.availability(reader, asked.sku, to_query(asked, asked.quantity))
    return availability_out(found)


@router.post("/availability/carts", response_model=CartOut, responses=responses(413))
async def cart(body: CartIn, reader: Reader, request: Request, _: AvailabilityReader) -> CartOut:
    """Every line of a cart, each with its own quantity's promise, and when the whole cart can be met."""
    max_lines = request.app.state.api.engine.settings.cart_max_lines  # no thread pool trip
    if len(body.lines) > max_lines:
        raise ProblemError(413, "cart-too-large", f"a cart has at most {max_lines} lines")
    lines = [(line.sku, line.quantity) for line in body.lines]
    return cart_out(await checkout.cart(reader, lines, to_query(body, 1)))


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
        metrics.observe_hold("refused")
        raise ProblemError(409, "not-available", str(refused), lines=refused.lines) from None
    metrics.observe_hold(outcome)
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return hold_out(outcome, request.channel)


@router.get(
    "/reservations/{reservation_id:path}", response_model=ReservationOut, responses=responses(404)
)
def read_reservation(
    reservation_id: Annotated[ClientId, Path()], engine: EngineDep, _: ReservationWriter
) -> ReservationOut:
    """A reservation as recorded: where its units are held and where it stands."""
    return reservation_out(engine.reservations.get(reservation_id))


@router.delete(
    "/reservations/{reservation_id:path}",
    response_model=ReservationOut,
    responses=responses(404, 409),
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
