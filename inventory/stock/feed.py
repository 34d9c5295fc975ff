"""Validation of stock events as they arrive from feeds: every refusal carries a precise reason.

Feeds send `adjust`, `count`, `receive` and `sale`; `ship` and `return` are written by the engine
only, each tied to what it settles, so a feed's copy would count the same units twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
)

from inventory.domain.model import ENGINE_WRITTEN, EventType, StockEvent
from inventory.domain.text import CLIENT_TEXT, PRINTABLE_OR_EMPTY

MAX_BATCH_EVENTS = 10_000
MAX_EVENT_QUANTITY = 1_000_000  # units in one event; more is a feed error, not stock
MAX_FUTURE_SKEW = timedelta(minutes=15)  # an event may not claim to have happened later than this
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")
]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=CLIENT_TEXT)]


class StockEventIn(BaseModel):
    """One event as a feed sends it. Quantities are signed only for `adjust`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    location: Identifier
    sku: Identifier
    type: EventType
    quantity: StrictInt = Field(ge=-MAX_EVENT_QUANTITY, le=MAX_EVENT_QUANTITY)
    occurred_at: AwareDatetime
    source: Annotated[str, StringConstraints(max_length=64, pattern=PRINTABLE_OR_EMPTY)] = ""

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _a_time_not_a_number(cls, value: Any) -> Any:
        """An ISO 8601 time with its zone: a bare number could be seconds or milliseconds."""
        if isinstance(value, int | float):
            raise ValueError("an ISO 8601 time with its zone, not a number")
        return value


class BatchTooLarge(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    event_id: str | None
    reason: str


def parse_batch(
    raw: Iterable[Mapping[str, Any] | StockEvent], now: datetime | None = None
) -> tuple[list[tuple[int, StockEvent]], list[Rejection]]:
    """Split a batch into valid events (with their index in the batch) and precise rejections."""
    items = list(raw)
    if len(items) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH_EVENTS} events, got {len(items)}")
    latest = latest_allowed(now or datetime.now(UTC))
    valid: list[tuple[int, StockEvent]] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        event, reason = _parse_one(item)
        if event is not None and reason is None:
            reason = _engine_only(event) or _semantic_error(event, latest)
        if reason is not None:
            event_id = (
                item.get("event_id")
                if isinstance(item, Mapping)
                else getattr(item, "event_id", None)
            )
            rejected.append(
                Rejection(index, event_id if isinstance(event_id, str) else None, reason)
            )
        else:
            valid.append((index, event))  # type: ignore[arg-type]
    return valid, rejected


def _parse_one(item: Mapping[str, Any] | StockEvent) -> tuple[StockEvent | None, str | None]:
    if isinstance(item, StockEvent):
        return item, _object_error(item)
    if not isinstance(item, Mapping):
        return None, "an event must be an object"
    try:
        model = StockEventIn.model_validate(item)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        return None, f"{where}: {first['msg']}"
    return StockEvent(
        event_id=model.event_id,
        location=model.location,
        sku=model.sku,
        type=model.type,
        quantity=model.quantity,
        occurred_at=model.occurred_at.astimezone(UTC),
        source=model.source,
    ), None


_IDENTIFIER = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
_EVENT_ID = re.compile(CLIENT_TEXT)
_SOURCE = re.compile(PRINTABLE_OR_EMPTY)


def _object_error(event: StockEvent) -> str | None:
    """The checks a mapping gets from StockEventIn, for an event built in Python: the same limits
    on both backends (a 200-character SKU would pass SQLite and fail PostgreSQL's whole batch).
    Plain comparisons, since generators and benchmarks send millions of these."""
    if not isinstance(event.event_id, str) or not 1 <= len(event.event_id) <= 128:
        return "event_id: 1 to 128 characters"
    if not _EVENT_ID.match(event.event_id):
        return "event_id: no control characters, not blank"
    for name in ("location", "sku"):
        value = getattr(event, name)
        if not isinstance(value, str) or not _IDENTIFIER.match(value):
            return f"{name}: 1 to 64 of A-Z a-z 0-9 . _ : / -"
    if not isinstance(event.type, EventType):
        return f"type: one of {', '.join(t.value for t in EventType)}, as an EventType"
    if isinstance(event.quantity, bool) or not isinstance(event.quantity, int):
        return "quantity: a whole number"
    if not isinstance(event.occurred_at, datetime):
        return "occurred_at: a datetime with its time zone"
    if (
        not isinstance(event.source, str)
        or len(event.source) > 64
        or not _SOURCE.match(event.source)
    ):
        return "source: at most 64 printable characters"
    return None


def _engine_only(event: StockEvent) -> str | None:
    if event.type in ENGINE_WRITTEN:
        return f"type: a {event.type.value} is written by the engine only, never by a feed"
    return None


def latest_allowed(now: datetime) -> datetime:
    """The latest time an event received at `now` may claim to have happened (the engine's own
    events too: inventory.stock.history relies on it)."""
    return now + MAX_FUTURE_SKEW


def _semantic_error(event: StockEvent, latest: datetime) -> str | None:
    if abs(event.quantity) > MAX_EVENT_QUANTITY:
        return f"quantity: must be within ±{MAX_EVENT_QUANTITY}"
    if event.type is EventType.count and event.quantity < 0:
        return "quantity: a count cannot be negative"
    if event.type not in (EventType.count, EventType.adjust) and event.quantity <= 0:
        return f"quantity: a {event.type.value} carries a positive quantity"
    if event.occurred_at.tzinfo is None:
        return "occurred_at: must carry a time zone"
    if event.occurred_at > latest:
        return "occurred_at: lies in the future"
    return None
