"""A location's daily shipment capacity across live orders: the shipments allocated there each
day (UTC), counted in SQL in the transaction that allocates them, so that concurrent orders
cannot together send more than the location may in a day.

Routing leaves out a location whose day is full (the allocation core's own capacity, lowered by
what today's shipments used); the allocation then takes one shipment of the day on a locked
counter and refuses the shipment, like stock a concurrent order took, when the day is full. A
shipment rejected or cancelled gives its place back. Locations without a limit worth counting
(the default, a million a day) are not counted at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, insert, select, update

from dom.orders.tables import LOCATION_DAY, SHIPMENT

UNLIMITED = 1_000_000  # shipments a day: a location's default, no limit to count
DAY_US = 86_400 * 1_000_000


def day_of(us: int) -> int:
    """Days since the epoch (UTC) of a time in microseconds."""
    return us // DAY_US


def used(conn: Connection, locations: Iterable[str], day: int) -> dict[str, int]:
    """Shipments each of `locations` has been allocated on `day` (absent: none)."""
    wanted = sorted(set(locations))
    if not wanted:
        return {}
    rows = conn.execute(
        select(LOCATION_DAY.c.location, LOCATION_DAY.c.shipments).where(
            LOCATION_DAY.c.day == day, LOCATION_DAY.c.location.in_(wanted)
        )
    )
    return {location: shipments for location, shipments in rows}


def take(conn: Connection, location: str, day: int, limit: int) -> bool:
    """One more shipment at `location` on `day`, if fewer than `limit` were allocated; the row
    stays locked until the transaction ends, so concurrent orders take places one by one."""
    if limit >= UNLIMITED:
        return True
    took = conn.execute(
        update(LOCATION_DAY)
        .where(
            LOCATION_DAY.c.location == location,
            LOCATION_DAY.c.day == day,
            LOCATION_DAY.c.shipments < limit,
        )
        .values(shipments=LOCATION_DAY.c.shipments + 1)
    ).rowcount
    if took:
        return True
    if used(conn, [location], day):
        return False  # the day is full
    if limit < 1:
        return False
    conn.execute(insert(LOCATION_DAY), {"location": location, "day": day, "shipments": 1})
    return True  # a concurrent first insert fails this one on the key: the transaction retries


def give_back(conn: Connection, shipment_id: str) -> None:
    """The place a rejected or cancelled shipment held on the day it was allocated."""
    row = conn.execute(
        select(SHIPMENT.c.location, SHIPMENT.c.created_us).where(SHIPMENT.c.id == shipment_id)
    ).first()
    if row is not None:
        put_back(conn, row.location, day_of(row.created_us))


def put_back(conn: Connection, location: str, day: int) -> None:
    """One place of `location`'s `day` free again (nothing when its day is not counted)."""
    conn.execute(
        update(LOCATION_DAY)
        .where(
            LOCATION_DAY.c.location == location,
            LOCATION_DAY.c.day == day,
            LOCATION_DAY.c.shipments > 0,
        )
        .values(shipments=LOCATION_DAY.c.shipments - 1)
    )
