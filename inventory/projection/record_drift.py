"""Positions against their own record: on_hand against the fold of its stock events, reserved
against the open holds and orders that keep units there. Read in key order from one snapshot.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, select

from inventory.domain.model import EventType, StockEvent
from inventory.domain.time import from_micros
from inventory.holds.outcome import HoldStatus
from inventory.projection.drift import Drift
from inventory.sql.schema import (
    ReservationLineRow,
    ReservationRow,
    StockEventRow,
)
from inventory.stock.count_rule import Ledgered, fold

EVT = StockEventRow.__table__
RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__


def kept_by_holds(conn: Connection) -> dict[tuple[str, str], int]:
    kept: dict[tuple[str, str], int] = defaultdict(int)
    query = select(LINE.c.location, LINE.c.sku, LINE.c.quantity).join(
        RES, RES.c.id == LINE.c.reservation_id
    )
    for r in conn.execute(query.where(RES.c.status.in_([HoldStatus.held, HoldStatus.consumed]))):
        kept[(r.location, r.sku)] += r.quantity
    return kept


def in_key_order(conn: Connection, table) -> list:
    """(sku, location) in code-point order, the order Python compares strings in, so the
    positions and the event log can be merged as two sorted streams."""
    columns = [table.c.sku, table.c.location]
    return [c.collate("C") for c in columns] if conn.dialect.name == "postgresql" else columns


class Histories:
    """Every recorded stock event, grouped by position, in key order: one sorted pass over the
    event log (it has no index by position), taken in step with the positions."""

    def __init__(self, conn: Connection, chunk_positions: int) -> None:
        rows = conn.execution_options(yield_per=chunk_positions * 4).execute(
            select(EVT).order_by(*in_key_order(conn, EVT))
        )
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def take(self, sku: str, location: str) -> list[StockEvent]:
        """The events of (sku, location); keys must be asked for in increasing order. Events
        of a position not asked for (there is none: every recorded event has its position)
        are passed over."""
        key, events = (sku, location), []
        while self._next is not None and (self._next.sku, self._next.location) <= key:
            e = self._next
            if (e.sku, e.location) == key:
                events.append(
                    StockEvent(e.event_id, e.location, e.sku, EventType(e.type), e.quantity,
                               from_micros(e.occurred_us), e.source)
                )  # fmt: skip
            self._next = next(self._rows, None)
        return events


def history_drift(histories: Histories, chunk) -> list[Drift]:
    drifts = []
    for r in chunk:
        expected = fold(Ledgered(), histories.take(r.sku, r.location))[0].on_hand
        if expected != r.on_hand:
            drifts.append(
                Drift(
                    "on_hand",
                    r.location,
                    r.sku,
                    expected,
                    r.on_hand,
                    "differs from its stock events",
                    r.version,
                )
            )
    return drifts


def reserved_drift(chunk, kept: dict[tuple[str, str], int]) -> list[Drift]:
    return [
        Drift(
            "reserved",
            r.location,
            r.sku,
            kept.get((r.location, r.sku), 0),
            r.reserved,
            "differs from open holds",
            r.version,
        )
        for r in chunk
        if r.reserved != kept.get((r.location, r.sku), 0)
    ]
