"""Reservations in the SQL ledger: all-or-nothing holds decided by conditional writes.

Consistency mechanism: a unit is held only by `UPDATE position SET reserved = reserved + q WHERE
on_hand - reserved - safety >= q`; a reservation changes status only by `UPDATE ... WHERE status =
'held'`, so each hold is consumed, released or expired exactly once. Lines are taken in SKU order and
give-backs in (location, sku) order; a rare deadlock between two multi-line holds is detected by the
database and the transaction retried. A refused hold records nothing: a retry decides afresh.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, update

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


def shift_reserved(
    conn: Connection, takes: Iterable[tuple[Key, int]], changes: Changes, checked: bool
) -> bool:
    """Add `units` (negative to give back) to reserved at each position, in key order.

    With `checked`, an addition succeeds only where enough is available; returns False at the
    first position that cannot give, leaving the rollback to the caller.
    """
    for (location, sku), units in sorted(takes):
        statement = (
            update(POS)
            .where(POS.c.location == location, POS.c.sku == sku)
            .values(reserved=POS.c.reserved + units, version=POS.c.version + 1)
            .returning(
                POS.c.version, POS.c.on_hand, POS.c.reserved, POS.c.safety, POS.c.reported_us
            )
        )
        if checked and units > 0:
            statement = statement.where(POS.c.on_hand - POS.c.reserved - POS.c.safety >= units)
        row = conn.execute(statement).first()
        if row is None:
            return False
        changes.positions[(location, sku)] = Projected(
            row.version, row.on_hand, row.reserved, row.safety, (row.reported_us or 0) // 1_000_000
        )
    return True


def place(
    conn: Connection, request: HoldRequest, plan: list[list[str]], now_us: int, changes: Changes
) -> HoldOutcome:
    """Take every line from its candidate locations, in order, or raise Refused.

    `plan[i]` lists the locations to try for line i. Each candidate is tried with a conditional
    write for the whole remainder, then for what it can give at most (read under the same lock).
    """
    takes: list[Take] = []
    for index, line in sorted(enumerate(request.lines), key=lambda item: item[1].sku):
        remaining = line.quantity
        for location in plan[index]:
            if remaining == 0:
                break
            give = _giveable(conn, location, line.sku, remaining)
            if give > 0 and shift_reserved(
                conn, [((location, line.sku), give)], changes, checked=True
            ):
                takes.append(Take(index, location, line.sku, give))
                remaining -= give
        if remaining > 0:
            raise Refused(
                f"line {index}: {remaining} of {line.quantity} x {line.sku} not available"
            )
    expires = now_us + request.ttl_s * 1_000_000 if request.ttl_s else None
    conn.execute(RES.insert(), _reservation_row(request, "held", now_us, expires))
    merged: dict[tuple[int, str], Take] = {}
    for t in sorted(takes, key=lambda t: (t.line, t.location)):
        prior = merged.get((t.line, t.location))
        merged[(t.line, t.location)] = Take(
            t.line, t.location, t.sku, t.quantity + (prior.quantity if prior else 0)
        )
    conn.execute(LINE.insert(), [
        {"reservation_id": request.id, "line": t.line, "location": t.location, "sku": t.sku, "quantity": t.quantity}
        for t in merged.values()
    ])  # fmt: skip
    return HoldOutcome(request.id, "held", tuple(merged.values()), "", expires)


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


def _giveable(conn: Connection, location: str, sku: str, wanted: int) -> int:
    row = conn.execute(
        select(POS.c.on_hand - POS.c.reserved - POS.c.safety).where(
            POS.c.location == location, POS.c.sku == sku
        )
    ).first()
    return 0 if row is None else max(0, min(wanted, row[0]))


def _reservation_row(
    request: HoldRequest, status: str, now_us: int, expires: int | None, closed: int | None = None
) -> dict:
    return {
        "id": request.id, "status": status, "channel": request.channel, "request_hash": request.digest(),
        "created_us": now_us, "expires_us": expires, "closed_us": closed,
    }  # fmt: skip
