"""The HTTP API: one FastAPI app over the engine, built by `create_app` (a factory, so each
server process builds its own engine at start-up and closes it at shutdown)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from api import metrics, problems
from api.limits import BodyLimit
from api.routes import (
    checkout,
    events,
    experiments,
    feeds,
    health,
    network,
    operations,
    orders,
    returns,
    rulesets,
    simulations,
    webhooks,
)
from api.state import open_state
from dom.bootstrap import build
from dom.settings import Settings, get_settings

VERSION = "1"
DESCRIPTION = """The stock-availability and order management engine.

Every route but the probes (`/healthz`, `/readyz`) and this description (`/openapi.json`, `/docs`,
`/redoc`) needs an API key (`Authorization: Bearer KEY`), checked before a body is read; each key
carries scopes. `/metrics` answers a scrape from the machine itself without a key, unless
DOM_METRICS_OPEN_ON_LOOPBACK=false. Errors are RFC 9457 `application/problem+json`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = await run_in_threadpool(build, settings, True)
        engine.reservations.observe_groups(metrics.GROUP_SIZES.observe)
        app.state.api = open_state(engine)
        try:
            yield
        finally:
            await app.state.api.close()
            await run_in_threadpool(engine.close)

    app = FastAPIOffline(  # /docs and /redoc served with their own assets: no CDN needed
        title="dom-engine",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    problems.install(app)
    for module in (
        checkout,
        feeds,
        network,
        events,
        webhooks,
        operations,
        orders,
        returns,
        rulesets,
        experiments,
        simulations,
        health,
    ):
        app.include_router(module.router)
    app.add_middleware(BodyLimit)
    app.add_middleware(metrics.RequestTimer)
    return app
