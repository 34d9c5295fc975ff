"""Reservations in the SQL ledger: all-or-nothing holds decided by conditional writes.

Consistency mechanism: the positions a group of holds may take from are locked in (location, sku)
order (`FOR UPDATE`; SQLite has one writer), the holds are decided in arrival order against their
free units (inventory.holds.decide_group), and the units are taken by `UPDATE position SET reserved
= reserved + q WHERE on_hand - reserved - safety >= q`, which cannot fail under the lock and would
roll the group back if it did. A reservation changes status only by `UPDATE ... WHERE status =
'held'`, so each hold is consumed, released or expired exactly once. A refused hold records
nothing: a retry decides afresh.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select, tuple_, update

from inventory.holds import HoldRequest, Take, decide_group
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


def decide(
    conn: Connection,
    items: Sequence[tuple[HoldRequest, list[list[str]]]],
    now_us: int,
    changes: Changes,
) -> list[HoldOutcome]:
    """Decide a group of holds in one transaction: replays answer from the record, the others are
    decided in order against the positions they may take from, locked for the transaction."""
    replays = _recorded_many(conn, [request for request, _ in items])
    fresh = [(request, plan) for request, plan in items if request.id not in replays]
    free = _lock_free_units(
        conn,
        {
            (loc, line.sku)
            for request, plan in fresh
            for i, line in enumerate(request.lines)
            for loc in plan[i]
        },
    )
    decisions = dict(zip((r.id for r, _ in fresh), decide_group(fresh, free), strict=True))
    held = [
        (request, takes)
        for request, _ in fresh
        if not isinstance(takes := decisions[request.id], str)
    ]
    totals: dict[Key, int] = defaultdict(int)
    for _, takes in held:
        for t in takes:
            totals[(t.location, t.sku)] += t.quantity
    if not shift_reserved(conn, totals.items(), changes, checked=True):
        raise AssertionError("a locked position gave less than decided")  # rolls the group back
    if held:
        conn.execute(
            RES.insert(), [_reservation_row(r, "held", now_us, _expiry(r, now_us)) for r, _ in held]
        )
        conn.execute(LINE.insert(), [
            {"reservation_id": r.id, "line": t.line, "location": t.location, "sku": t.sku, "quantity": t.quantity}
            for r, takes in held for t in takes
        ])  # fmt: skip
    outcomes = []
    for request, _ in items:
        decision = decisions.get(request.id)
        if request.id in replays:
            outcomes.append(replays[request.id])
        elif isinstance(decision, str):
            outcomes.append(HoldOutcome(request.id, "refused", (), decision))
        else:
            outcomes.append(HoldOutcome(request.id, "held", decision, "", _expiry(request, now_us)))
    return outcomes


def _expiry(request: HoldRequest, now_us: int) -> int | None:
    return now_us + request.ttl_s * 1_000_000 if request.ttl_s else None


_KNOWN_IDS = select(RES.c.id).where(RES.c.id.in_(bindparam("ids", expanding=True)))
_LOCK_FREE = (
    select(POS.c.location, POS.c.sku, POS.c.on_hand - POS.c.reserved - POS.c.safety)
    .where(tuple_(POS.c.location, POS.c.sku).in_(bindparam("keys", expanding=True)))
    .order_by(POS.c.location, POS.c.sku)
    .with_for_update()
)


def _recorded_many(conn: Connection, requests: list[HoldRequest]) -> dict[str, HoldOutcome]:
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise ReservationConflict("the same reservation id twice in one group")
    rows = set(conn.scalars(_KNOWN_IDS, {"ids": ids}))
    if not rows:
        return {}
    return {r.id: recorded(conn, r) for r in requests if r.id in rows}  # type: ignore[misc]


def _lock_free_units(conn: Connection, keys: set[Key]) -> dict[Key, int]:
    """Free units (on_hand - reserved - safety) of each position, locked in key order."""
    if not keys:
        return {}
    return {
        (loc, sku): max(0, free)
        for loc, sku, free in conn.execute(_LOCK_FREE, {"keys": sorted(keys)})
    }


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


def _reservation_row(
    request: HoldRequest, status: str, now_us: int, expires: int | None, closed: int | None = None
) -> dict:
    return {
        "id": request.id, "status": status, "channel": request.channel, "request_hash": request.digest(),
        "created_us": now_us, "expires_us": expires, "closed_us": closed,
    }  # fmt: skip
