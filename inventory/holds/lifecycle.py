"""Reservations in the SQL ledger: their outcomes, and how a hold ends.

Holds are decided on the bare driver (inventory.holds.decide). Here: a reservation changes status only
by `UPDATE ... WHERE status = 'held'`, so each hold is consumed, released or expired exactly once,
and a released or expired hold gives its units back. A consumed hold ends when its shipment
settles it (inventory.holds.settlement), which takes its units out of reserved here too
(`give_back`). A refused hold records nothing: a retry decides afresh.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, bindparam, case, insert, or_, select, update

from inventory.domain.projected import Projected
from inventory.holds.outcome import (
    Changes,
    HoldStatus,
    ReservationConflict,
    UnknownReservation,
)
from inventory.holds.shortfall_sql import refuse_if_short
from inventory.sql.current import current
from inventory.sql.schema import (
    PositionChannelRow,
    PositionRow,
    ReservationLineRow,
    ReservationRow,
)

Key = tuple[str, str]
POS = PositionRow.__table__
RES = ReservationRow.__table__
LINE = ReservationLineRow.__table__
PCH = PositionChannelRow.__table__
ChannelKey = tuple[str, str, str]  # location, sku, channel
_SHIFT = (
    update(POS)
    .where(POS.c.location == bindparam("l"), POS.c.sku == bindparam("s"))
    .values(reserved=POS.c.reserved + bindparam("q"), version=POS.c.version + 1)
    .returning(POS.c.version, POS.c.on_hand, POS.c.reserved, POS.c.safety, POS.c.reported_us)
)
_PART = PCH.c.reserved + bindparam("q")
_SHIFT_PART = (
    update(PCH)
    .where(PCH.c.location == bindparam("l"), PCH.c.sku == bindparam("s"))
    .where(PCH.c.channel == bindparam("c"))
    .values(reserved=case((_PART > 0, _PART), else_=0))
    .returning(PCH.c.reserved)
)


def shift_reserved(conn: Connection, units: dict[ChannelKey, int], changes: Changes) -> None:
    """Add `units` (negative to give back) to reserved at each position, in key order, and to
    each channel's part of it (inventory.sql.schema.PositionChannelRow).

    A channel given back more than its part holds keeps none: its row is missing or short only
    for a ledger that counted holds by channel after they were taken, and a release must not
    fail for that (reconcile reports reserved against the holds)."""
    by_position: dict[Key, dict[str, int]] = defaultdict(dict)
    for (location, sku, channel), change in units.items():
        by_position[(location, sku)][channel] = change
    for (location, sku), by_channel in sorted(by_position.items()):
        change = sum(by_channel.values())
        row = conn.execute(_SHIFT, {"l": location, "s": sku, "q": change}).one()
        parts = {
            channel: _shift_part(conn, location, sku, channel, part)
            for channel, part in sorted(by_channel.items())
        }
        changes.positions[(location, sku)] = Projected.of(*row, by_channel=parts)


def _shift_part(conn: Connection, location: str, sku: str, channel: str, change: int) -> int:
    values = {"l": location, "s": sku, "c": channel, "q": change}
    part = conn.execute(_SHIFT_PART, values).scalar_one_or_none()
    if part is None:
        part = max(change, 0)
        conn.execute(insert(PCH).values(location=location, sku=sku, channel=channel, reserved=part))
    return part


def close(
    conn: Connection,
    reservation_id: str,
    to: HoldStatus,
    now_us: int,
    changes: Changes,
    order_id: str | None = None,
) -> HoldStatus:
    """Move a held reservation to `to` exactly once; returns the status it ends in.

    Releasing or expiring gives its units back; consuming keeps them reserved for the order. A
    hold past its expiry is expired here, whoever asks, even before a sweep reaches it: it can
    no longer be consumed. A hold is consumed by one order: the same order again is a replay,
    another order a conflict naming the first. A hold that stock no longer backs (a short hold,
    inventory.holds.shortfall) is not consumed: HoldShort names its shortfall.
    """
    moved = conn.execute(
        update(RES)
        .where(
            RES.c.id == reservation_id,
            RES.c.status == HoldStatus.held,
            or_(RES.c.expires_us.is_(None), RES.c.expires_us > now_us),
        )
        .values(status=to, closed_us=now_us, order_id=order_id)
        .returning(RES.c.id)
    ).first()
    if moved is not None:
        if to is HoldStatus.consumed:
            refuse_if_short(conn, reservation_id)  # raises: the hold stays held
        else:
            give_back(conn, [reservation_id], changes)
        return to
    row = conn.execute(
        select(RES.c.status, RES.c.order_id).where(RES.c.id == reservation_id)
    ).first()
    if row is None:
        raise UnknownReservation(f"no reservation {reservation_id!r}")
    status = HoldStatus(row.status)
    if status is HoldStatus.held:  # due: it expires now, as the sweep would have made it
        expire(conn, [reservation_id], now_us, changes)
        return HoldStatus.expired
    taken = status in (HoldStatus.consumed, HoldStatus.settled)
    if taken and to is HoldStatus.consumed and row.order_id != order_id:
        raise ReservationConflict(
            f"reservation {reservation_id!r} was consumed by order {row.order_id!r}"
        )
    reproject(conn, reservation_id, changes)
    return status


def reproject(conn: Connection, reservation_id: str, changes: Changes) -> None:
    """A replay projects the reservation's positions again, as they stand: the first attempt
    may have committed and then failed to reach the projection."""
    keys = [tuple(r) for r in conn.execute(
        select(LINE.c.location, LINE.c.sku).where(LINE.c.reservation_id == reservation_id)
    )]  # fmt: skip
    for key, value in current(conn, keys).items():
        changes.positions.setdefault(key, value)


def expire(conn: Connection, ids: list[str], now_us: int, changes: Changes) -> list[str]:
    """Expire the holds of `ids` that are still held, each exactly once, giving their units back;
    returns those it expired."""
    expired = list(conn.scalars(
        update(RES).where(RES.c.id.in_(ids), RES.c.status == HoldStatus.held).values(status=HoldStatus.expired, closed_us=now_us).returning(RES.c.id)
    ))  # fmt: skip
    if expired:
        give_back(conn, expired, changes)
    return expired


def unconsume(conn: Connection, reservation_id: str, now_us: int, changes: Changes) -> bool:
    """End a consumed hold whose units will never ship (its order's shipment was rejected or
    cancelled), giving them back, exactly once; False when it was not consumed."""
    moved = conn.execute(
        update(RES)
        .where(RES.c.id == reservation_id, RES.c.status == HoldStatus.consumed)
        .values(status=HoldStatus.released, closed_us=now_us)
        .returning(RES.c.id)
    ).first()
    if moved is None:
        return False
    give_back(conn, [reservation_id], changes)
    return True


def give_back(conn: Connection, ids: list[str], changes: Changes) -> None:
    """Give the units of the holds `ids` back, to their positions and their channels' parts."""
    units: dict[ChannelKey, int] = defaultdict(int)
    query = select(LINE.c.location, LINE.c.sku, LINE.c.quantity, RES.c.channel).join(
        RES, RES.c.id == LINE.c.reservation_id
    )
    for r in conn.execute(query.where(LINE.c.reservation_id.in_(ids))):
        units[(r.location, r.sku, r.channel)] -= r.quantity
    shift_reserved(conn, units, changes)
