"""Events' models: a page of the outbox by cursor, and webhook subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, Field, UrlConstraints

from api.schemas.common import CLIENT_TEXT, In, Out
from dom.events.feed import DEFAULT_PAGE_EVENTS, MAX_CURSOR
from dom.events.outbox import EVENT_TYPES, MAX_READ_EVENTS, MAX_SUBJECT_CHARS
from dom.events.subscriptions import MAX_URL_CHARS

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Cursor = Annotated[
    int,
    Field(ge=0, le=MAX_CURSOR, description="an event's seq: the events after it come next"),
]
PageSize = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_READ_EVENTS,
        description=f"events in one page: 1 to {MAX_READ_EVENTS:,} (default {DEFAULT_PAGE_EVENTS})",
    ),
]
Subject = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_SUBJECT_CHARS,
        pattern=CLIENT_TEXT,
        description="what events are about: an order id, a SKU, ...",
    ),
]
WebhookUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=MAX_URL_CHARS)]


class EventOut(Out):
    seq: int = Field(ge=1, description="the event's number: events are numbered in commit order")
    type: EventType  # type: ignore[valid-type]
    subject: str
    payload: dict[str, Any]
    created_at: datetime


class EventsOut(Out):
    events: list[EventOut] = Field(max_length=MAX_READ_EVENTS, description="oldest first")
    next: int = Field(
        ge=0,
        description="the cursor for the next page: the last seq here, or `after` when empty",
    )


class WebhookIn(In):
    """A subscription: the events to POST to `url`, signed (Standard Webhooks), from the
    outbox's current end unless `after` names an earlier cursor."""

    url: WebhookUrl = Field(description="http:// or https:// with a host")
    types: list[EventType] | None = Field(  # type: ignore[valid-type]
        default=None,
        min_length=1,
        max_length=len(EVENT_TYPES),
        description="the types to deliver; null or absent: every type, later ones too",
    )
    subject: Subject | None = Field(default=None, description="deliver this subject's only")
    after: Cursor | None = Field(
        default=None, description="deliver the events after this seq; absent: new ones only"
    )


class WebhookOut(Out):
    id: str
    url: str
    types: list[str] | None = Field(description="null: every type")
    subject: str | None
    created_at: datetime
    cursor: int = Field(ge=0, description="every event up to this seq is delivered, or not its")
    failures: int = Field(ge=0, description="failed attempts in a row on the next event")
    last_attempt_at: datetime | None
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="when a failed event is tried again")
    delivered_at: datetime | None = Field(description="when a receiver last took an event")


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="signs every delivery (`whsec_...`): shown this once")
