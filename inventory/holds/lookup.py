"""Reading one reservation back: its status and the units it holds where."""

from __future__ import annotations

from sqlalchemy import Connection, select

from inventory.holds.outcome import HoldStatus, Reservation, UnknownReservation
from inventory.holds.request import Take
from inventory.sql.schema import ReservationLineRow, ReservationRow

RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__


def find(conn: Connection, reservation_id: str, now_us: int) -> Reservation:
    row = conn.execute(select(RES).where(RES.c.id == reservation_id)).first()
    if row is None:
        raise UnknownReservation(f"no reservation {reservation_id!r}")
    lines = conn.execute(
        select(LINE.c.line, LINE.c.location, LINE.c.sku, LINE.c.quantity)
        .where(LINE.c.reservation_id == reservation_id)
        .order_by(LINE.c.line, LINE.c.location)
    )
    status = HoldStatus(row.status)
    if status is HoldStatus.held and row.expires_us is not None and row.expires_us <= now_us:
        status = HoldStatus.expired
    return Reservation(
        row.id,
        status,
        row.channel,
        tuple(Take(*line) for line in lines),
        row.created_us,
        row.expires_us,
        row.closed_us,
        row.order_id,
    )
