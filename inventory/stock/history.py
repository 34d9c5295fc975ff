"""A position's recorded stock events, newest first, found by walking its event chain.

The event log has no index by position (a feed would pay a random page write per event for it).
Each recorded event names the event recorded before it at the same position (`prev_event_id`),
and the position names its newest (`last_event_id`), so the ingest writes nothing but the rows
it writes anyway. Chain order is commit order, not occurrence order.

A late count needs the deltas that occurred after it. Each event's receive stamp is the receiving
clock, or the stamp of the event before it at its position when that is later, so stamps never
go down along a chain, whatever the writers' clocks and however their transactions interleave.
The feed refuses an event more than MAX_FUTURE_SKEW ahead of the clock that receives it, so every
delta that occurred after a time T carries a stamp after T - MAX_FUTURE_SKEW: the walk stops at
the first event stamped before that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, text

from inventory.domain.model import DELTA_SIGN, EventType
from inventory.stock.feed import MAX_FUTURE_SKEW

WALK_MARGIN_US = MAX_FUTURE_SKEW // timedelta(microseconds=1)
WALK_LIMIT = 1_000_000  # events; a position does not take this many within the skew
UNBOUNDED = 2**62
# A chain cannot loop (an event's predecessor was committed before it was written); the depth
# bound turns a chain broken by hand into an error instead of a query that never ends.
_WALK = """
WITH RECURSIVE back(event_id, prev_event_id, type, quantity, occurred_us, received_us, depth) AS (
    SELECT event_id, prev_event_id, type, quantity, occurred_us, received_us, 1
    FROM stock_event WHERE event_id = :head
  UNION ALL
    SELECT e.event_id, e.prev_event_id, e.type, e.quantity, e.occurred_us, e.received_us, b.depth + 1
    FROM stock_event e JOIN back b ON e.event_id = b.prev_event_id
    WHERE b.received_us >= :stop_us AND b.depth < :limit
)
"""


class ChainTooLong(RuntimeError):
    """A walk reached WALK_LIMIT: the chain loops or was joined wrongly by hand."""


@dataclass(frozen=True, slots=True)
class Recorded:
    event_id: str
    type: EventType
    quantity: int
    occurred_us: int
    received_us: int


def deltas_after(conn: Connection, head: str | None, since_us: int) -> list[tuple[int, int]]:
    """(occurred_us, signed delta) of the recorded deltas that occurred after `since_us`, from
    the chain that ends at `head`."""
    if head is None:
        return []
    rows = conn.execute(
        text(
            _WALK + "SELECT occurred_us, type, quantity, depth FROM back "
            "WHERE (occurred_us > :since_us AND type <> 'count') OR depth = :limit"
        ),
        {
            "head": head,
            "stop_us": since_us - WALK_MARGIN_US,
            "since_us": since_us,
            "limit": WALK_LIMIT,
        },
    ).all()
    if rows and max(r.depth for r in rows) >= WALK_LIMIT:
        raise ChainTooLong(f"the chain ending at event {head!r} runs past {WALK_LIMIT} events")
    return [(r.occurred_us, DELTA_SIGN[EventType(r.type)] * r.quantity) for r in rows]


def position_history(conn: Connection, location: str, sku: str, limit: int = 100) -> list[Recorded]:
    """The position's newest `limit` recorded events, newest first (for support and audits)."""
    head = conn.execute(
        text("SELECT last_event_id FROM position WHERE location = :location AND sku = :sku"),
        {"location": location, "sku": sku},
    ).scalar()
    if head is None or limit < 1:
        return []
    rows = conn.execute(
        text(
            _WALK + "SELECT event_id, type, quantity, occurred_us, received_us FROM back "
            "ORDER BY depth"
        ),
        {"head": head, "stop_us": -UNBOUNDED, "limit": limit},
    )
    return [
        Recorded(r.event_id, EventType(r.type), r.quantity, r.occurred_us, r.received_us)
        for r in rows
    ]
