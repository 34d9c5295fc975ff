"""Receiving a return's lines at their destination: sellable units (new, opened) re-enter the
ledger there as a `return` stock event, decided by the count rule like any other; damaged ones
are recorded as received and never become stock. One transaction holds the ledger's events,
the lines' receipt, the return's status and its event.

The stock event of a line is named by the return and the line's place in it
(`return:<return id>:<n>`), so a receipt reported twice restocks once: the second is a replay.
Lines reported at another location than their destination are refused; the route is the
engine's decision and a person changes it, not a scanner.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from dom.events import outbox
from dom.orders import store as orders
from dom.returns import store
from dom.returns.context import ReturnsContext
from dom.returns.errors import InvalidReturn, ReturnConflict, UnknownReturn
from dom.returns.model import sellable
from dom.returns.register import summary
from inventory import Changes, EventType, StockEvent, from_micros

RETURN_SOURCE = "return"


def stock_event_id(return_id: str, n: int) -> str:
    return f"return:{return_id}:{n}"


def receive(
    ctx: ReturnsContext,
    return_id: str,
    location: str,
    line_ids: list[str] | None = None,
    at: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """Receive at `location` the named lines (default: every line routed there); the return as
    it then stands, and whether nothing was left to receive (a replay)."""
    changes = Changes()
    answer, replayed = ctx.ledger.transaction(
        partial(_apply, ctx, return_id=return_id, location=location, line_ids=line_ids, at=at,
                changes=changes)
    )  # fmt: skip
    if changes.positions:
        ctx.ledger.project(changes.positions)
        ctx.ledger.notify_stock(changes.positions)  # parked orders may be served now
    return answer, replayed


def _apply(
    ctx: ReturnsContext,
    conn: Connection,
    *,
    return_id: str,
    location: str,
    line_ids: list[str] | None,
    at: datetime | None,
    changes: Changes,
) -> tuple[dict[str, Any], bool]:
    changes.positions.clear()  # a retried transaction starts afresh
    row = store.lock(conn, return_id)
    if row is None:
        raise UnknownReturn(f"no return {return_id!r}")
    lines = store.lines(conn, return_id)
    chosen = _chosen(return_id, lines, location, line_ids)
    waiting = [line for line in chosen if line.received_us is None]
    if not waiting:
        answer = store.view(conn, return_id)
        assert answer is not None
        return answer, True
    now_us = ctx.now_us()
    when = at if at is not None else from_micros(now_us)
    events = [
        StockEvent(
            stock_event_id(return_id, line.n),
            location,
            line.sku,
            EventType.return_,
            line.quantity,
            when,
            RETURN_SOURCE,
        )
        for line in waiting
        if sellable(line.condition)
    ]
    if events:
        changes.stock_written(ctx.ledger.write_in(conn, events).changed)
    restocked = {e.event_id for e in events}
    received = {
        line.line_id: (eid if (eid := stock_event_id(return_id, line.n)) in restocked else None)
        for line in waiting
    }
    status = store.mark_received(conn, return_id, received, now_us)
    answer = store.view(conn, return_id)
    assert answer is not None
    detail = {"return": return_id, "location": location, "lines": sorted(received),
              "status": status.value}  # fmt: skip
    if row.order_id is not None:
        orders.record(conn, row.order_id, "return.received", now_us, **detail)
    outbox.record(conn, "return.received", row.order_id or return_id, summary(answer), now_us)
    return answer, False


def _chosen(
    return_id: str, lines: list[Any], location: str, line_ids: list[str] | None
) -> list[Any]:
    """The lines the receipt is about, each checked to be bound for `location`."""
    if line_ids is None:
        chosen = [line for line in lines if line.destination == location]
        if not chosen:
            bound = ", ".join(sorted({line.destination for line in lines}))
            raise ReturnConflict(
                f"no line of return {return_id} goes to {location}; its destinations: {bound}"
            )
        return chosen
    by_id = {line.line_id: line for line in lines}
    unknown = sorted(set(line_ids) - by_id.keys())
    if unknown:
        raise InvalidReturn(f"lines: return {return_id} has no line {', '.join(unknown)}")
    chosen = [by_id[line_id] for line_id in dict.fromkeys(line_ids)]
    elsewhere = [line for line in chosen if line.destination != location]
    if elsewhere:
        raise ReturnConflict(
            "; ".join(
                f"line {line.line_id} goes to {line.destination}, not {location}"
                for line in elsewhere
            )
        )
    return chosen
