"""The API's dependencies, each declared once as an `Annotated` alias: the settings, the engine,
and the caller's key with the scope a route needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from api.state import ApiState
from dom.bootstrap import Engine
from dom.keys import ApiKey
from dom.settings import Settings

bearer = HTTPBearer(auto_error=False, description="an API key: `dom keys create` prints one")


def state(request: Request) -> ApiState:
    return request.app.state.api


def engine(request: Request) -> Engine:
    return request.app.state.api.engine


def settings(request: Request) -> Settings:
    return request.app.state.api.engine.settings


async def current_key(
    scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey:
    secret = credentials.credentials if credentials is not None else None
    return await request.app.state.api.gate.admit(secret, scopes.scopes)


StateDep = Annotated[ApiState, Depends(state)]
EngineDep = Annotated[Engine, Depends(engine)]
SettingsDep = Annotated[Settings, Depends(settings)]

# The caller's key, holding the scope its route needs (admin holds them all).
AvailabilityReader = Annotated[ApiKey, Security(current_key, scopes=["availability:read"])]
ReservationWriter = Annotated[ApiKey, Security(current_key, scopes=["reservations:write"])]
StockWriter = Annotated[ApiKey, Security(current_key, scopes=["stock:write"])]
NetworkWriter = Annotated[ApiKey, Security(current_key, scopes=["network:write"])]
MetricsReader = Annotated[ApiKey, Security(current_key, scopes=["metrics"])]
Admin = Annotated[ApiKey, Security(current_key, scopes=["admin"])]
