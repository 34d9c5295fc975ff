"""Stock feeds: batches of events, a location's full count (JSON or CSV), inbound supply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from api import metrics
from api.deps import EngineDep, StockWriter
from api.limits import CSV, LimitedRoute
from api.problems import responses
from api.schemas.common import ClientId, Identifier
from api.schemas.feeds import (
    CountIn,
    CountOut,
    InboundClosedOut,
    InboundIn,
    InboundOut,
    StockEventsIn,
    VerdictsOut,
)
from api.views import count_out, verdicts_out
from dom import feeds
from inventory import CountLine, close_inbound
from inventory import InboundIn as InboundItem

router = APIRouter(prefix="/v1", tags=["feeds"], route_class=LimitedRoute)
CSV_BODY = {
    "x-accepts": CSV,
    "requestBody": {
        "required": True,
        "content": {
            CSV: {"schema": {"type": "string"}, "example": "sku,quantity\nSKU-000001,12\n"}
        },
    },
}


@router.post("/stock-events", response_model=VerdictsOut, responses=responses(413))
def stock_events(body: StockEventsIn, engine: EngineDep, _: StockWriter) -> VerdictsOut:
    """Each event's verdict, in the events' order: applied, stale (already inside a later
    count), duplicate (its id was seen; `first` says what it got) or rejected with the reason."""
    result = engine.ledger.ingest(body.events)
    metrics.observe_batch(result)
    return verdicts_out(result)


@router.post("/locations/{location:path}/counts", response_model=CountOut, responses=responses(404))
def full_count(
    location: Annotated[Identifier, Path()], body: CountIn, engine: EngineDep, _: StockWriter
) -> CountOut:
    """A full count of the location: every SKU not listed counts as zero as of `counted_at`."""
    lines = [CountLine(line.sku, line.quantity) for line in body.lines]
    counted = feeds.full_count(engine.ledger, location, body.id, body.counted_at, lines)
    metrics.observe_verdicts(counted.outcomes)
    return count_out(counted)


@router.post(
    "/locations/{location:path}/counts.csv",
    response_model=CountOut,
    responses=responses(404, 413, 415),
    openapi_extra=CSV_BODY,
)
async def full_count_csv(
    location: Annotated[Identifier, Path()],
    count_id: Annotated[Identifier, Query(alias="id", max_length=60)],
    counted_at: Annotated[AwareDatetime, Query()],
    request: Request,
    engine: EngineDep,
    _: StockWriter,
) -> CountOut:
    """The same count as a CSV file (`text/csv`): a header with `sku` and `quantity`, a SKU a row."""
    body = await request.body()
    counted = await run_in_threadpool(
        feeds.full_count_from_csv, engine.ledger, location, count_id, counted_at, body
    )
    metrics.observe_verdicts(counted.outcomes)
    return count_out(counted)


@router.post("/inbound", response_model=InboundOut, responses=responses())
def inbound(body: InboundIn, engine: EngineDep, _: StockWriter) -> InboundOut:
    """Record purchase orders and transfers on their way (an id sent again replaces its item)."""
    items = [InboundItem(**item.model_dump()) for item in body.items]
    return InboundOut(recorded=feeds.inbound(engine.ledger, items))


@router.delete(
    "/inbound/{inbound_id:path}", response_model=InboundClosedOut, responses=responses(404)
)
def close(
    inbound_id: Annotated[ClientId, Path()], engine: EngineDep, _: StockWriter
) -> InboundClosedOut:
    """The supply arrived (its receipt moves stock) or was cancelled: stop promising it."""
    return InboundClosedOut(closed=close_inbound(engine.ledger, inbound_id))
