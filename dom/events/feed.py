"""The events feed: a client reads the outbox by cursor, a page at a time, oldest first.

A cursor is an event's seq (0 before the first). A page holds the events numbered above it, and
`next` is the cursor for the page after: the last seq returned, or the cursor given when there
was nothing new. The outbox commits events in the order of their numbers (see outbox.py), so a
client that always passes `next` sees every event once, in order, and never a gap filled later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine

from dom.events import outbox
from dom.events.outbox import Event
from inventory import from_micros

MAX_CURSOR = 2**63 - 1  # a seq is a signed 64-bit integer in SQL
DEFAULT_PAGE_EVENTS = 100


class InvalidCursor(ValueError):
    """A cursor, page size or event type the feed cannot read by: the message says which."""


@dataclass(frozen=True, slots=True)
class Page:
    events: list[Event]
    next: int


def page(
    sql: Engine,
    after: int = 0,
    limit: int = DEFAULT_PAGE_EVENTS,
    types: Iterable[str] = (),
    subject: str | None = None,
) -> Page:
    """The events numbered above `after`, at most `limit`, of `types` (every type when none)
    and of `subject` when given."""
    wanted = check(after, limit, types)
    with sql.connect() as conn:
        events = outbox.read_after(conn, after, limit, wanted, subject)
    return Page(events, events[-1].seq if events else after)


def check(after: int, limit: int, types: Iterable[str]) -> frozenset[str] | None:
    """The types asked for (None: every one), once the cursor and page size are known good."""
    if not 0 <= after <= MAX_CURSOR:
        raise InvalidCursor(f"a cursor is an event's seq, 0 to {MAX_CURSOR}")
    if not 1 <= limit <= outbox.MAX_READ_EVENTS:
        raise InvalidCursor(f"a page holds 1 to {outbox.MAX_READ_EVENTS:,} events")
    wanted = frozenset(types)
    unknown = sorted(wanted - set(outbox.EVENT_TYPES))
    if unknown:
        raise InvalidCursor(f"unknown event type(s) {', '.join(unknown)}")
    return wanted or None


def as_json(event: Event) -> dict[str, Any]:
    """An event as the feed answers it and a webhook delivers it."""
    return {
        "seq": event.seq,
        "type": event.type,
        "subject": event.subject,
        "payload": event.payload,
        "created_at": from_micros(event.created_us),
    }


def body(event: Event) -> bytes:
    """A webhook delivery's body: the event as the feed shows it (times in UTC, `Z`)."""
    return orjson.dumps(as_json(event), option=orjson.OPT_UTC_Z)
