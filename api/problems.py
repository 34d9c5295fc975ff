"""RFC 9457 problem details: every error the API answers, from a route, the framework or a bug.

Domain errors are mapped here, once, by type: routes raise what the engine raises and never
build an error response themselves.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
import psycopg
import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sql
from starlette.exceptions import HTTPException

from dom.events.feed import InvalidCursor
from dom.events.subscriptions import InvalidWebhook, TooManyWebhooks, UnknownWebhook
from dom.feeds import InvalidInbound
from dom.keys import InvalidKey, UnknownKey
from dom.orders.errors import InvalidShipmentEvent, OrderConflict, UnknownOrder, UnknownShipment
from dom.orders.model import IllegalTransition
from dom.returns.errors import InvalidReturn, ReturnConflict, UnknownReturn
from dom.rulesets.errors import InvalidRuleSet, RuleSetConflict, UnknownRuleSet
from dom.rulesets.experiments import UnknownExperiment
from dom.simulation.service import SimulationConflict, UnknownSimulation
from inventory import (
    BatchTooLarge,
    CartTooLarge,
    HoldShort,
    InvalidCount,
    InvalidQuery,
    InvalidSafetyRule,
    InvalidShipment,
    NetworkNotPublished,
    ReservationConflict,
    UnknownLocation,
    UnknownReservation,
)

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:dom:problem:"
MAX_LISTED_ERRORS = 50  # validation errors listed in one answer

TITLES = {
    400: "Bad request", 401: "Unauthorised", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 413: "Content too large",
    415: "Unsupported media type", 422: "Invalid input", 429: "Too many requests",
    500: "Internal error", 503: "Service unavailable",
}  # fmt: skip

# Domain errors by type: (status, problem slug). The first match in the type's MRO wins.
DOMAIN_ERRORS: dict[type[BaseException], tuple[int, str]] = {
    InvalidQuery: (422, "invalid-query"),
    InvalidSafetyRule: (422, "invalid-safety-rule"),
    InvalidShipment: (422, "invalid-shipment"),
    InvalidCount: (422, "invalid-count"),
    InvalidKey: (422, "invalid-key"),
    InvalidInbound: (422, "invalid-inbound"),
    InvalidShipmentEvent: (422, "invalid-shipment-event"),
    IllegalTransition: (409, "illegal-transition"),
    OrderConflict: (409, "order-conflict"),
    UnknownOrder: (404, "unknown-order"),
    UnknownShipment: (404, "unknown-shipment"),
    InvalidReturn: (422, "invalid-return"),
    ReturnConflict: (409, "return-conflict"),
    UnknownReturn: (404, "unknown-return"),
    InvalidRuleSet: (422, "invalid-rule-set"),
    RuleSetConflict: (409, "rule-set-conflict"),
    UnknownRuleSet: (404, "unknown-rule-set"),
    UnknownExperiment: (404, "unknown-experiment"),
    SimulationConflict: (409, "simulation-conflict"),
    UnknownSimulation: (404, "unknown-simulation"),
    InvalidCursor: (422, "invalid-cursor"),
    InvalidWebhook: (422, "invalid-webhook"),
    CartTooLarge: (413, "cart-too-large"),
    BatchTooLarge: (413, "batch-too-large"),
    UnknownReservation: (404, "unknown-reservation"),
    UnknownKey: (404, "unknown-key"),
    UnknownLocation: (404, "unknown-location"),
    UnknownWebhook: (404, "unknown-webhook"),
    TooManyWebhooks: (409, "too-many-webhooks"),
    HoldShort: (409, "hold-short"),
    ReservationConflict: (409, "reservation-conflict"),
    NetworkNotPublished: (503, "network-not-published"),
    redis.RedisError: (503, "projection-unavailable"),
    sql.OperationalError: (503, "ledger-unavailable"),
    sql.InterfaceError: (503, "ledger-unavailable"),
    sql.TimeoutError: (503, "ledger-unavailable"),
    # The hold writer and the slot and channel look-ups use the driver's connection bare, so
    # its errors arrive without SQLAlchemy's wrapper.
    psycopg.OperationalError: (503, "ledger-unavailable"),
    psycopg.InterfaceError: (503, "ledger-unavailable"),
    sqlite3.OperationalError: (503, "ledger-unavailable"),
}


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(max_length=256, description="where: body.lines.0.quantity, query.sku, ...")
    message: str = Field(max_length=1024)


class Problem(BaseModel):
    """An error, as RFC 9457 describes it."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=256, examples=[TYPE_BASE + "invalid-input"])
    title: str = Field(max_length=128)
    status: int = Field(ge=400, le=599)
    detail: str = Field(max_length=4096)
    errors: list[FieldError] | None = Field(default=None, max_length=MAX_LISTED_ERRORS)


class ProblemError(HTTPException):
    """Raised by the API's own checks (access, limits, parsing) to answer with a problem. An
    HTTPException, so that FastAPI lets it through while it reads a body."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status, detail, headers)
        self.slug, self.extra = slug, extra


def problem(
    status: int,
    slug: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {"type": TYPE_BASE + slug, "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail, **extra}  # fmt: skip
    return Response(orjson.dumps(body), status, headers=headers, media_type=MEDIA_TYPE)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entries of the errors a route may answer, each a Problem."""
    return {
        status: {"model": Problem, "description": TITLES[status],
                 "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for status in sorted(set(statuses) | {401, 403, 422, 429, 503})
    }  # fmt: skip


def classify(error: BaseException) -> tuple[int, str] | None:
    for cls in type(error).__mro__:
        if cls in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[cls]
    return None


def field_errors(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    listed = []
    for error in list(errors)[:MAX_LISTED_ERRORS]:
        # No location: a model a route built refused its parameters as a whole (api/schemas).
        where = ".".join(str(part) for part in error.get("loc", ())) or "request"
        listed.append({"field": where[:256], "message": str(error.get("msg", ""))[:1024]})
    return listed


def install(app: FastAPI) -> None:
    """Every error as problem+json: the API's own, the framework's, the engine's, and bugs."""

    @app.exception_handler(ProblemError)
    async def _own(request: Request, error: ProblemError) -> Response:
        return problem(error.status_code, error.slug, error.detail, error.headers, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        errors = field_errors(error.errors())
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        detail = f"{first['field']}: {first['message']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem(422, "invalid-input", detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> Response:
        slug = TITLES.get(error.status_code, "error").lower().replace(" ", "-")
        detail = (
            error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "")
        )
        if error.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.url.path}"
        elif error.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem(error.status_code, slug, detail, dict(error.headers or {}) or None)

    async def _domain(request: Request, error: Exception) -> Response:
        status, slug = classify(error) or (500, "internal-error")
        if status == 503:
            log.warning(
                "%s %s: backing server unavailable: %s", request.method, request.url.path, error
            )
            return problem(status, slug, _unavailable(slug), {"Retry-After": "1"})
        listed = getattr(error, "problems", None)  # a document's problems, each with its field
        if listed:
            errors = [{"field": f"rules.{p.field}".rstrip("."), "message": p.message}
                      for p in listed[:MAX_LISTED_ERRORS]]  # fmt: skip
            return problem(status, slug, str(error)[:4096], errors=errors)
        return problem(status, slug, str(error))

    for error_type in DOMAIN_ERRORS:  # by type, so the handler answers and nothing is re-raised
        app.add_exception_handler(error_type, _domain)

    @app.exception_handler(Exception)  # a bug in a middleware outside CatchAll
    async def _bug(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return bug()

    app.add_middleware(CatchAll)


def bug() -> Response:
    return problem(500, "internal-error", "the engine failed on this request; it is logged")


class CatchAll:
    """ASGI middleware: a bug is answered with the 500 problem on a connection that stays open.

    Starlette's handler for `Exception` answers and then raises the error again for the server
    to log; uvicorn then closes the connection under the answer, and a client often reads a
    reset instead of the problem."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if started:  # half an answer: only closing the connection tells the client
                raise
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await bug()(scope, receive, send)


def _unavailable(slug: str) -> str:
    if slug == "network-not-published":
        return "the projection holds no network yet (it is being rebuilt, or nothing was loaded)"
    if slug == "projection-unavailable":
        return "the Redis projection does not answer; availability is never guessed"
    return "the SQL ledger does not answer; nothing was changed"
