"""Finding short holds in the SQL ledger, on demand: nothing on the hold or ingest paths pays for
it. The rule is inventory.holds.shortfall's.

A short position is found by its own columns (`reserved > on_hand - safety`, reserved > 0); its
holds are the open reservations' lines there, read through the reservations' status index, so the
cost follows the open holds, not the event log. Every position (`short_positions()`) is a scan of
the position table; named positions are looked up by key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, and_, func, select

from inventory.holds.outcome import HoldStatus
from inventory.holds.shortfall import HoldShort, OpenHold, ShortHold, ShortPosition, allot
from inventory.sql.keys import among, chunks
from inventory.sql.schema import PositionRow, ReservationLineRow, ReservationRow

Key = tuple[str, str]
POS = PositionRow.__table__
RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__
OPEN = (HoldStatus.held, HoldStatus.consumed)
_SHORT = and_(POS.c.reserved > 0, POS.c.reserved > POS.c.on_hand - POS.c.safety)
_FIGURES = (POS.c.location, POS.c.sku, POS.c.on_hand, POS.c.reserved, POS.c.safety)


def short_positions(conn: Connection, keys: Sequence[Key] | None = None) -> list[ShortPosition]:
    """The short positions, in key order: every one, or those among `keys`."""
    if keys is None:
        rows = list(conn.execute(select(*_FIGURES).where(_SHORT)))
    else:
        rows = []
        for chunk in chunks(sorted(set(keys))):
            where = among(POS.c.location, POS.c.sku, chunk)
            rows += conn.execute(select(*_FIGURES).where(where, _SHORT))
    return of_rows(conn, rows)


def of_rows(conn: Connection, rows: Iterable) -> list[ShortPosition]:
    """The short positions among position rows (location, sku, on_hand, reserved, safety), with
    the holds each leaves short."""
    short = sorted((r for r in rows if r.reserved > max(0, r.on_hand - r.safety)), key=_key)
    holds = open_holds_at(conn, [_key(r) for r in short])
    return [
        ShortPosition(
            r.location, r.sku, r.on_hand, r.reserved, r.safety,
            allot(r.location, r.sku, r.on_hand, r.safety, holds.get(_key(r), ())),
        )
        for r in short
    ]  # fmt: skip


def open_holds_at(conn: Connection, keys: Sequence[Key]) -> dict[Key, list[OpenHold]]:
    """The held and consumed holds' units at each of `keys`."""
    found: dict[Key, list[OpenHold]] = defaultdict(list)
    for chunk in chunks(keys):
        rows = conn.execute(
            select(LINE.c.location, LINE.c.sku, RES.c.id, RES.c.created_us, func.sum(LINE.c.quantity))
            .join(RES, RES.c.id == LINE.c.reservation_id)
            .where(RES.c.status.in_(OPEN), among(LINE.c.location, LINE.c.sku, chunk))
            .group_by(LINE.c.location, LINE.c.sku, RES.c.id, RES.c.created_us)
        )  # fmt: skip
        for location, sku, rid, created_us, units in rows:
            found[(location, sku)].append(OpenHold(rid, created_us, int(units)))
    return found


def short_holds(conn: Connection, keys: Sequence[Key] | None = None) -> list[ShortHold]:
    """Every short hold (or those at `keys`), by reservation id, with its shortfalls."""
    by_hold = defaultdict(list)
    for position in short_positions(conn, keys):
        for shortfall in position.holds:
            by_hold[shortfall.reservation_id].append(shortfall)
    if not by_hold:
        return []
    states = {
        r.id: (HoldStatus(r.status), r.order_id)
        for r in conn.execute(
            select(RES.c.id, RES.c.status, RES.c.order_id).where(RES.c.id.in_(list(by_hold)))
        )
    }
    return [
        ShortHold(rid, *states[rid], tuple(by_hold[rid]))
        for rid in sorted(by_hold)
        if rid in states
    ]


def refuse_if_short(conn: Connection, reservation_id: str) -> None:
    """Raise HoldShort when stock no longer backs all of the hold's units. One query when none of
    its positions is short, the usual case."""
    rows = list(
        conn.execute(
            select(*_FIGURES)
            .distinct()
            .join(LINE, and_(LINE.c.location == POS.c.location, LINE.c.sku == POS.c.sku))
            .where(LINE.c.reservation_id == reservation_id, _SHORT)
        )
    )
    if not rows:
        return
    positions = [
        p for p in of_rows(conn, rows) if any(h.reservation_id == reservation_id for h in p.holds)
    ]
    if positions:
        raise HoldShort(reservation_id, positions)


def _key(row) -> Key:
    return (row.location, row.sku)
