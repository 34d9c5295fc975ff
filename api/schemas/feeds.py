"""The stock feeds' models: batches of events, full counts, inbound supply."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from api.schemas.common import ClientId, Identifier, In, Out
from inventory import MAX_BATCH_EVENTS, MAX_COUNT_LINES

MAX_COUNT_UNITS = 1_000_000
MAX_INBOUND_ITEMS = 10_000
EVENT_EXAMPLE = {
    "event_id": "pos-123", "location": "ST-0001", "sku": "SKU-000001", "type": "sale",
    "quantity": 1, "occurred_at": "2026-11-22T10:00:00+00:00", "source": "pos",
}  # fmt: skip


class StockEventsIn(In):
    """A batch of stock events. Each event is judged on its own (a malformed one is `rejected`
    with the reason, the others still count); more than the batch limit is a 413."""

    events: list[dict[str, Any]] = Field(
        min_length=1,
        json_schema_extra={"maxItems": MAX_BATCH_EVENTS, "examples": [[EVENT_EXAMPLE]]},
        description=f"at most {MAX_BATCH_EVENTS:,} events: event_id, location, sku, type "
        "(adjust, count, receive, sale), quantity, occurred_at (ISO 8601 with zone), source",
    )


class VerdictOut(Out):
    event_id: str | None
    outcome: Literal["applied", "stale", "duplicate", "rejected"]
    reason: str = ""
    first: Literal["applied", "stale", "rejected"] | None = Field(
        default=None, description="a duplicate's: what the event got the first time"
    )


class VerdictsOut(Out):
    verdicts: list[VerdictOut] = Field(description="one per event, in the events' order")
    summary: dict[str, int]


class CountLineIn(In):
    sku: Identifier
    quantity: int = Field(ge=0, le=MAX_COUNT_UNITS)


class CountIn(In):
    """A location's full count: every SKU not listed counts as zero as of `counted_at`."""

    id: Identifier = Field(
        max_length=60, description="names the count: sending it again is a replay"
    )
    counted_at: AwareDatetime
    lines: list[CountLineIn] = Field(max_length=MAX_COUNT_LINES)


class CountOut(Out):
    id: str
    location: str
    counted_at: datetime
    listed: int = Field(ge=0)
    zeroed: int = Field(ge=0, description="SKUs held here that the count did not list: now zero")
    outcomes: dict[str, int]
    rejected: list[VerdictOut]


class InboundItemIn(In):
    id: ClientId
    location: Identifier
    sku: Identifier
    quantity: int = Field(gt=0, le=1_000_000)
    expected_at: AwareDatetime
    kind: Literal["po", "transfer"] = "po"


class InboundIn(In):
    """Purchase orders and transfers on their way, so availability can promise a date. An item
    sent again with the same id replaces it."""

    items: list[InboundItemIn] = Field(min_length=1, max_length=MAX_INBOUND_ITEMS)


class InboundOut(Out):
    recorded: int = Field(ge=0)


class InboundClosedOut(Out):
    closed: bool = Field(description="false when it was closed before, or never recorded")
