"""Probes and metrics: /healthz (the process lives), /readyz (it can serve), /metrics."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.security import SecurityScopes
from starlette.concurrency import run_in_threadpool

from api import metrics
from api.deps import EngineDep, bearer, current_key
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.operations import HealthOut, ReadyOut
from dom import health

router = APIRouter(tags=["health"], route_class=LimitedRoute)


@router.get("/healthz", response_model=HealthOut)
def healthz() -> HealthOut:
    """The process lives and answers; no key needed."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(engine: EngineDep) -> Response:
    """SQL and Redis answer and the projection can be vouched for; no key needed."""
    checks = await run_in_threadpool(health.readiness, engine)
    ready = all(verdict == "ok" for verdict in checks.values())
    body = ReadyOut(status="ready" if ready else "not ready", checks=checks)
    return Response(body.model_dump_json(), 200 if ready else 503, media_type="application/json")


async def scraper(request: Request, scopes: SecurityScopes, credentials=Depends(bearer)) -> None:  # type: ignore[no-untyped-def]
    """A key with the `metrics` scope, or a scrape from this machine when the settings allow it."""
    settings = request.app.state.api.engine.settings
    host = request.client.host if request.client else ""
    if settings.metrics_open_on_loopback and credentials is None and _loopback(host):
        return
    await current_key(scopes, request, credentials)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **responses()},
)
def scrape(_: Annotated[None, Security(scraper, scopes=["metrics"])]) -> Response:
    """Prometheus text format."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
