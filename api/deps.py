"""The API's dependencies, each declared once as an `Annotated` alias: the settings, the engine,
and the caller's key with the scope a route needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from api.state import ApiState
from dom.bootstrap import Engine
from dom.keys import ApiKey
from dom.settings import Settings

bearer = HTTPBearer(auto_error=False, description="an API key: `dom keys create` prints one")


# Async, though they only read the app's state: a plain `def` dependency would cost every
# request a trip through the thread pool.
async def state(request: Request) -> ApiState:
    return request.app.state.api


async def engine(request: Request) -> Engine:
    return request.app.state.api.engine


async def settings(request: Request) -> Settings:
    return request.app.state.api.engine.settings


async def current_key(
    scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey:
    admitted = getattr(request.state, "key", None)  # by `admit`, before the body was read
    if admitted is not None:
        return admitted
    secret = credentials.credentials if credentials is not None else None
    return await request.app.state.api.gate.admit(secret, scopes.scopes)


async def admit(request: Request, scopes: list[str]) -> None:
    """The caller's key, checked before the route reads a byte of the body (LimitedRoute calls
    it first): a caller without a key learns nothing of the body's rules and costs no parsing.
    The route's `current_key` then finds the key admitted and counts no second request."""
    credentials = await bearer(request)
    secret = credentials.credentials if credentials is not None else None
    request.state.key = await request.app.state.api.gate.admit(secret, scopes)


def key_scopes(dependant: Dependant) -> list[str] | None:
    """The scopes a route's key must hold, or None when no `current_key` guards the route."""
    guarded = dependant.call is current_key
    scopes = set(dependant.own_oauth_scopes or ())
    for sub in dependant.dependencies:
        found = key_scopes(sub)
        if found is not None:
            guarded, scopes = True, scopes | set(found)
    return sorted(scopes) if guarded else None


StateDep = Annotated[ApiState, Depends(state)]
EngineDep = Annotated[Engine, Depends(engine)]
SettingsDep = Annotated[Settings, Depends(settings)]

# The caller's key, holding the scope its route needs (admin holds them all).
AvailabilityReader = Annotated[ApiKey, Security(current_key, scopes=["availability:read"])]
ReservationWriter = Annotated[ApiKey, Security(current_key, scopes=["reservations:write"])]
StockWriter = Annotated[ApiKey, Security(current_key, scopes=["stock:write"])]
NetworkWriter = Annotated[ApiKey, Security(current_key, scopes=["network:write"])]
OrdersReader = Annotated[ApiKey, Security(current_key, scopes=["orders:read"])]
OrdersWriter = Annotated[ApiKey, Security(current_key, scopes=["orders:write"])]
RulesReader = Annotated[ApiKey, Security(current_key, scopes=["rules:read"])]
RulesWriter = Annotated[ApiKey, Security(current_key, scopes=["rules:write"])]
MetricsReader = Annotated[ApiKey, Security(current_key, scopes=["metrics"])]
Admin = Annotated[ApiKey, Security(current_key, scopes=["admin"])]
