"""The events feed: the outbox read by cursor, a page at a time (`orders:read`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import EngineDep, OrdersReader
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.common import CLIENT_TEXT
from api.schemas.events import EventOut, EventsOut, EventType
from dom.events import feed
from dom.events.outbox import EVENT_TYPES, MAX_READ_EVENTS, MAX_SUBJECT_CHARS

router = APIRouter(prefix="/v1", tags=["events"], route_class=LimitedRoute)


@router.get("/events", response_model=EventsOut, responses=responses())
def events(
    engine: EngineDep,
    _: OrdersReader,
    after: Annotated[
        int, Query(ge=0, le=feed.MAX_CURSOR, description="a cursor: the seq after which to read")
    ] = 0,
    limit: Annotated[
        int,
        Query(
            ge=1, le=MAX_READ_EVENTS, description=f"events in the page, 1 to {MAX_READ_EVENTS:,}"
        ),
    ] = feed.DEFAULT_PAGE_EVENTS,
    types: Annotated[
        list[EventType] | None,  # type: ignore[valid-type]
        Query(alias="type", max_length=len(EVENT_TYPES), description="only these types (repeat)"),
    ] = None,
    subject: Annotated[
        str | None, Query(min_length=1, max_length=MAX_SUBJECT_CHARS, pattern=CLIENT_TEXT)
    ] = None,
) -> EventsOut:
    """Events after the cursor, oldest first. Pass `next` as `after` to read on: every event
    comes once, in order, and none is ever inserted behind a cursor."""
    found = feed.page(engine.ledger.engine, after, limit, types or (), subject)
    return EventsOut(events=[EventOut(**feed.as_json(e)) for e in found.events], next=found.next)
