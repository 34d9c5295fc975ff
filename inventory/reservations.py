"""Reservations in the SQL ledger: all-or-nothing holds decided by conditional writes.

Consistency mechanism: the positions a group of holds may take from are locked in (location, sku)
order (`FOR UPDATE`; SQLite has one writer), the holds are decided in arrival order against their
free units (inventory.holds.decide_group), and the units are taken by `UPDATE position SET reserved
= reserved + q WHERE on_hand - reserved - safety >= q`, which cannot fail under the lock and would
roll the group back if it did. A reservation changes status only by `UPDATE ... WHERE status =
'held'`, so each hold is consumed, released or expired exactly once. A refused hold records
nothing: a retry decides afresh. The group path itself runs on the bare driver (inventory.hold_sql).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select, update

from inventory.holds import HoldRequest, Take
from inventory.projection import Projected
from inventory.schema import PositionRow, ReservationLineRow, ReservationRow

POS = PositionRow.__table__
RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__

Key = tuple[str, str]


class Refused(Exception):
    """Not enough stock for a line: the whole hold is rolled back."""


class ReservationConflict(Exception):
    """The request contradicts what is recorded (same id, other content; or a closed reservation)."""


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    id: str
    status: str  # held | refused | consumed | released | expired
    takes: tuple[Take, ...] = ()
    reason: str = ""
    expires_us: int | None = None
    replayed: bool = False


@dataclass(slots=True)
class Changes:
    positions: dict[Key, Projected] = field(default_factory=dict)


def recorded(conn: Connection, request: HoldRequest) -> HoldOutcome | None:
    """The first result of a request already seen, or None."""
    row = conn.execute(select(RES).where(RES.c.id == request.id)).first()
    if row is None:
        return None
    if row.request_hash != request.digest():
        raise ReservationConflict(f"reservation {request.id!r} exists with other content")
    takes = tuple(
        Take(r.line, r.location, r.sku, r.quantity)
        for r in conn.execute(
            select(LINE)
            .where(LINE.c.reservation_id == request.id)
            .order_by(LINE.c.line, LINE.c.location)
        )
    )
    return HoldOutcome(row.id, row.status, takes, "", row.expires_us, replayed=True)


_RETURNED = (POS.c.version, POS.c.on_hand, POS.c.reserved, POS.c.safety, POS.c.reported_us)
_AT = (POS.c.location == bindparam("l"), POS.c.sku == bindparam("s"))
_SHIFT = (
    update(POS)
    .where(*_AT)
    .values(reserved=POS.c.reserved + bindparam("q"), version=POS.c.version + 1)
    .returning(*_RETURNED)
)
_TAKE = _SHIFT.where(POS.c.on_hand - POS.c.reserved - POS.c.safety >= bindparam("q"))


def shift_reserved(
    conn: Connection, takes: Iterable[tuple[Key, int]], changes: Changes, checked: bool
) -> bool:
    """Add `units` (negative to give back) to reserved at each position, in key order.

    With `checked`, an addition succeeds only where enough is available; returns False at the
    first position that cannot give, leaving the rollback to the caller.
    """
    for (location, sku), units in sorted(takes):
        statement = _TAKE if checked and units > 0 else _SHIFT
        row = conn.execute(statement, {"l": location, "s": sku, "q": units}).first()
        if row is None:
            return False
        changes.positions[(location, sku)] = Projected.of(row[0], row[1], row[2], row[3], row[4])
    return True


def close(
    conn: Connection,
    reservation_id: str,
    to: str,
    now_us: int,
    changes: Changes,
    order_id: str | None = None,
) -> str:
    """Move a held reservation to `to` exactly once; returns the status it ends in.

    Releasing or expiring gives its units back; consuming keeps them reserved for the order.
    """
    moved = conn.execute(
        update(RES)
        .where(RES.c.id == reservation_id, RES.c.status == "held")
        .values(status=to, closed_us=now_us, order_id=order_id)
        .returning(RES.c.id)
    ).first()
    if moved is None:
        status = conn.scalar(select(RES.c.status).where(RES.c.id == reservation_id))
        if status is None:
            raise KeyError(reservation_id)
        return status
    if to != "consumed":
        _give_back(conn, [reservation_id], changes)
    return to


def expire_due(conn: Connection, now_us: int, limit: int, changes: Changes) -> list[str]:
    """Expire up to `limit` holds whose time has come; each is expired exactly once."""
    due = list(conn.scalars(
        select(RES.c.id).where(RES.c.status == "held", RES.c.expires_us <= now_us).order_by(RES.c.expires_us).limit(limit)
    ))  # fmt: skip
    if not due:
        return []
    expired = list(conn.scalars(
        update(RES).where(RES.c.id.in_(due), RES.c.status == "held").values(status="expired", closed_us=now_us).returning(RES.c.id)
    ))  # fmt: skip
    if expired:
        _give_back(conn, expired, changes)
    return expired


def _give_back(conn: Connection, ids: list[str], changes: Changes) -> None:
    units: dict[Key, int] = defaultdict(int)
    for r in conn.execute(select(LINE).where(LINE.c.reservation_id.in_(ids))):
        units[(r.location, r.sku)] -= r.quantity
    shift_reserved(conn, units.items(), changes, checked=False)
