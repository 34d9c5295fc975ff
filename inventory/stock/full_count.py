"""A location's full count: every SKU it lists at its count, and every SKU it does not list at
zero, all as of the count's time. What a store recount or a vendor's stock file means.

Each line becomes a `count` event named `<count id>/<sku>`, so sending the same count again is
a replay that changes nothing, and a count cut short (a crash between two batches) is finished
by sending it again. Being counts, they follow the count rule: a sale after the count's time
still applies; one before is inside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from inventory.sql.schema import LocationRow, PositionRow
from inventory.stock.count_rule import Outcome, Verdict
from inventory.stock.feed import MAX_BATCH_EVENTS

if TYPE_CHECKING:
    from inventory.ledger import Ledger

MAX_COUNT_LINES = 200_000  # SKUs one count may list
MAX_COUNT_ID_CHARS = 60  # leaves room for "/<sku>" within an event id's 128 characters
POS = PositionRow.__table__
LOC = LocationRow.__table__


class InvalidCount(ValueError):
    """A count that cannot be taken as sent: the message says why; nothing was recorded."""


@dataclass(frozen=True, slots=True)
class CountLine:
    sku: str
    quantity: int


@dataclass(slots=True)
class FullCount:
    count_id: str
    location: str
    counted_at: datetime
    listed: int = 0
    zeroed: int = 0  # SKUs held at the location that the count did not list
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    rejected: list[Verdict] = field(default_factory=list)


def take(
    ledger: Ledger, location: str, count_id: str, counted_at: datetime, lines: Sequence[CountLine]
) -> FullCount:
    """Record the count; each line's event is decided as a feed's count would be."""
    skus = [line.sku for line in lines]
    if len(lines) > MAX_COUNT_LINES:
        raise InvalidCount(f"a count lists at most {MAX_COUNT_LINES:,} SKUs, got {len(lines):,}")
    if len(set(skus)) != len(skus):
        twice = sorted(sku for sku, n in Counter(skus).items() if n > 1)[:5]
        raise InvalidCount(
            f"a count lists each SKU once; listed more than once: {', '.join(twice)}"
        )
    if not 1 <= len(count_id) <= MAX_COUNT_ID_CHARS:
        raise InvalidCount(f"a count's id is 1 to {MAX_COUNT_ID_CHARS} characters")
    with ledger.engine.connect() as conn:
        if conn.scalar(select(LOC.c.id).where(LOC.c.id == location)) is None:
            raise InvalidCount(f"unknown location {location!r}")
        held = set(conn.scalars(select(POS.c.sku).where(POS.c.location == location)))
    unlisted = sorted(held - set(skus))
    counts = [(line.sku, line.quantity) for line in lines] + [(sku, 0) for sku in unlisted]
    result = FullCount(count_id, location, counted_at, len(lines), len(unlisted))
    at = counted_at.isoformat()
    for start in range(0, len(counts), MAX_BATCH_EVENTS):
        batch = [
            {"event_id": f"{count_id}/{sku}", "location": location, "sku": sku, "type": "count",
             "quantity": quantity, "occurred_at": at, "source": "count"}
            for sku, quantity in counts[start : start + MAX_BATCH_EVENTS]
        ]  # fmt: skip
        done = ledger.ingest(batch)
        for _, verdict in done.verdicts:
            result.outcomes[verdict.outcome.value] += 1
            if verdict.outcome is Outcome.rejected:
                result.rejected.append(verdict)
    return result
