"""Settling a shipment: a consumed hold's units leave on_hand and reserved, once.

One transaction, taking its locks in the order every writer takes them (the reservation, then its
positions in key order):
  1. the reservation moves `consumed` -> `settled` by a conditional update, so shipments racing
     for one reservation settle it once, and a settled hold is never released or expired;
  2. a settlement row records the shipment: a shipment id names one settlement forever;
  3. each position of the reservation gets an engine-written `ship` stock event, decided by the
     count rule like any delta (inventory.stock.ingest): a count taken after the parcel left
     already excludes it, a late count from before it carries it;
  4. reserved drops by the reservation's units there, always, through the one place reserved
     units change when a hold ends (inventory.holds.lifecycle.give_back).
The same shipment again (same reservation, same time) is a replay: it returns the first
settlement and changes nothing. Settlement is of a whole reservation: an order whose units leave
in several parcels holds one allocation per shipment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from inventory.domain.model import EventType, StockEvent
from inventory.domain.text import CLIENT_TEXT
from inventory.domain.time import from_micros, to_micros
from inventory.holds.lifecycle import give_back, reproject
from inventory.holds.outcome import (
    Changes,
    HoldNotConsumed,
    HoldStatus,
    ReservationConflict,
    Settlement,
    Shipped,
    UnknownReservation,
)
from inventory.sql.schema import ReservationLineRow, ReservationRow, SettlementRow, StockEventRow
from inventory.stock.count_rule import Outcome
from inventory.stock.feed import latest_allowed
from inventory.stock.ingest import ingest_events

RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__
SETTLED = SettlementRow.__table__
EVT = StockEventRow.__table__
MAX_SHIPMENT_ID = 96  # so that `ship:<shipment_id>:<n>` fits an event id (128)
SHIP_SOURCE = "settlement"
_DECIDED = (Outcome.applied, Outcome.stale)


class InvalidShipment(ValueError):
    """A settlement request that cannot be right: a bad shipment id or time."""


def check(shipment_id: str, shipped_at: datetime, now: datetime) -> None:
    """Refuse, before anything is read, a shipment id or time no shipment can have."""
    if not isinstance(shipment_id, str) or not 1 <= len(shipment_id) <= MAX_SHIPMENT_ID:
        raise InvalidShipment(f"shipment_id: 1 to {MAX_SHIPMENT_ID} characters")
    if not re.fullmatch(CLIENT_TEXT, shipment_id):
        raise InvalidShipment("shipment_id: printable text, no control character")
    if not isinstance(shipped_at, datetime) or shipped_at.tzinfo is None:
        raise InvalidShipment("shipped_at: must carry a time zone")
    if shipped_at > latest_allowed(now):
        raise InvalidShipment("shipped_at: lies in the future")


def ship_event_id(shipment_id: str, n: int) -> str:
    return f"ship:{shipment_id}:{n}"


def settle(
    conn: Connection,
    reservation_id: str,
    shipment_id: str,
    shipped_at: datetime,
    now_us: int,
    changes: Changes,
) -> Settlement:
    """Settle `reservation_id` by `shipment_id` inside the caller's transaction (see above)."""
    shipped_us = to_micros(shipped_at)
    order_id = conn.execute(
        update(RES)
        .where(RES.c.id == reservation_id, RES.c.status == HoldStatus.consumed)
        .values(status=HoldStatus.settled)
        .returning(RES.c.order_id)
    ).first()
    if order_id is None:
        return _settled_before(conn, reservation_id, shipment_id, shipped_us, changes)
    row = {"shipment_id": shipment_id, "reservation_id": reservation_id}
    row |= {"shipped_us": shipped_us, "settled_us": now_us}
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(SETTLED)
    recorded = insert.values(row).on_conflict_do_nothing().returning(SETTLED.c.shipment_id)
    if conn.execute(recorded).first() is None:  # given for another reservation first
        raise _taken(
            conn.execute(select(SETTLED).where(SETTLED.c.shipment_id == shipment_id)).one()
        )
    units = _units(conn, reservation_id)
    events = [
        (n, StockEvent(ship_event_id(shipment_id, n), location, sku, EventType.ship, quantity,
                       shipped_at.astimezone(UTC), SHIP_SOURCE))
        for n, (location, sku, quantity) in enumerate(units)
    ]  # fmt: skip
    result = ingest_events(conn, events, now_us, locked=True)
    for _, verdict in result.verdicts:
        if verdict.outcome not in _DECIDED:  # an id a feed took first: nothing is settled
            raise ReservationConflict(f"shipment {shipment_id!r}: {verdict.reason}")
    changes.positions.update(result.changed)
    give_back(conn, [reservation_id], changes)
    shipped = tuple(
        Shipped(e.location, e.sku, e.quantity, e.event_id, v.outcome)
        for (_, e), (_, v) in zip(events, result.verdicts, strict=True)
    )
    return Settlement(shipment_id, reservation_id, order_id[0], shipped_us, shipped)


def _units(conn: Connection, reservation_id: str) -> list[tuple[str, str, int]]:
    """(location, sku, units) of the reservation at each of its positions, in key order."""
    rows = conn.execute(
        select(LINE.c.location, LINE.c.sku, func.sum(LINE.c.quantity))
        .where(LINE.c.reservation_id == reservation_id)
        .group_by(LINE.c.location, LINE.c.sku)
    )
    return sorted((location, sku, int(units)) for location, sku, units in rows)


def _settled_before(
    conn: Connection, reservation_id: str, shipment_id: str, shipped_us: int, changes: Changes
) -> Settlement:
    """The reservation was not consumed: the same shipment again is a replay; anything else is
    refused, saying why."""
    first = conn.execute(select(SETTLED).where(SETTLED.c.shipment_id == shipment_id)).first()
    if first is not None:
        if (first.reservation_id, first.shipped_us) != (reservation_id, shipped_us):
            raise _taken(first)
        reproject(conn, reservation_id, changes)  # the first attempt may not have reached it
        return _replayed(conn, first)
    row = conn.execute(select(RES.c.status).where(RES.c.id == reservation_id)).first()
    if row is None:
        raise UnknownReservation(f"no reservation {reservation_id!r}")
    if row.status == HoldStatus.settled:
        by = conn.scalar(
            select(SETTLED.c.shipment_id).where(SETTLED.c.reservation_id == reservation_id)
        )
        raise ReservationConflict(f"reservation {reservation_id!r} was settled by shipment {by!r}")
    raise HoldNotConsumed(
        f"reservation {reservation_id!r} is {row.status}, not consumed: only a hold an order "
        "consumed can ship"
    )


def _taken(first) -> ReservationConflict:
    return ReservationConflict(
        f"shipment {first.shipment_id!r} settled reservation {first.reservation_id!r}, shipped at "
        f"{from_micros(first.shipped_us).isoformat()}; a shipment id names one settlement forever"
    )


def _replayed(conn: Connection, first) -> Settlement:
    """The settlement as it was first recorded: its units and what their events did."""
    units = _units(conn, first.reservation_id)
    ids = [ship_event_id(first.shipment_id, n) for n in range(len(units))]
    events = conn.execute(select(EVT.c.event_id, EVT.c.outcome).where(EVT.c.event_id.in_(ids)))
    outcomes = {event_id: outcome for event_id, outcome in events}
    order_id = conn.scalar(select(RES.c.order_id).where(RES.c.id == first.reservation_id))
    shipped = tuple(
        Shipped(location, sku, quantity, event_id, Outcome(outcomes[event_id]))
        for (location, sku, quantity), event_id in zip(units, ids, strict=True)
    )
    return Settlement(
        first.shipment_id, first.reservation_id, order_id, first.shipped_us, shipped, True
    )
