"""Checkout: availability of a SKU or a cart, why, and cart reservations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import AvailabilityReader, EngineDep, ReservationWriter, SettingsDep
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
from api.schemas.common import Channel, ClientId, Identifier, Latitude, Longitude
from api.schemas.operations import HealthOut
from api.views import availability_out, cart_out, explanation_out, reservation_out, to_query
from dom import checkout
from inventory import HoldRequest, HoldStatus, ReservationConflict

router = APIRouter(prefix="/v1", tags=["checkout"], route_class=LimitedRoute)


@router.get("/ping", response_model=HealthOut, responses=responses())
async def ping(_: AvailabilityReader) -> HealthOut:
    """Nothing but the key check availability makes: a client tries its key and the round trip
    here. The HTTP benchmark's baseline (benchmarks/http): what availability costs beyond it is
    the availability itself."""
    return HealthOut(status="ok")


@router.get("/availability/{sku}", response_model=AvailabilityOut, responses=responses(404))
def availability(
    sku: Annotated[Identifier, Path()],
    engine: EngineDep,
    _: AvailabilityReader,
    quantity: Annotated[int, Query(ge=1, le=MAX_QUERY_UNITS)] = 1,
    method: Method = "ship",
    store: Identifier | None = None,
    lat: Latitude | None = None,
    lon: Longitude | None = None,
    channel: Channel = "web",
) -> AvailabilityOut:
    """What may be sold of one SKU now, by method, and when `quantity` units can be promised."""
    where = Where(method=method, store=store, lat=lat, lon=lon, channel=channel)
    found = checkout.availability(engine.reader, sku, to_query(where, quantity))
    return availability_out(found)


@router.post("/availability/carts", response_model=CartOut, responses=responses(413))
def cart(body: CartIn, engine: EngineDep, settings: SettingsDep, _: AvailabilityReader) -> CartOut:
    """Every line of a cart, each with its own quantity's promise, and when the whole cart can be met."""
    if len(body.lines) > settings.cart_max_lines:
        raise ProblemError(
            413, "cart-too-large", f"a cart has at most {settings.cart_max_lines} lines"
        )
    lines = [(line.sku, line.quantity) for line in body.lines]
    return cart_out(checkout.cart(engine.reader, lines, to_query(body, 1)))


@router.get("/availability/{sku}/explain", response_model=ExplanationOut, responses=responses())
def explain(
    sku: Annotated[Identifier, Path()],
    engine: EngineDep,
    _: AvailabilityReader,
    quantity: Annotated[int, Query(ge=1, le=MAX_QUERY_UNITS)] = 1,
    method: Method = "ship",
    store: Identifier | None = None,
    channel: Channel = "web",
) -> ExplanationOut:
    """The same answer kept whole: every location's part in it, and why it counts or not."""
    where = Where(method=method, store=store, channel=channel)
    return explanation_out(checkout.explain(engine.reader, sku, to_query(where, quantity)))


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
