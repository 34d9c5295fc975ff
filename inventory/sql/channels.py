"""Sales channels in the SQL ledger: each one's number, and what each holds at positions.

A channel is numbered the first time the projection must name it (a hold of it, or a fence for
it in the policy), so that a pool entry names a (location, channel) pair in one int32.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select, text

from inventory.domain.records import MAX_CHANNEL_NUMBER
from inventory.sql.keys import among, chunks
from inventory.sql.schema import PositionChannelRow, SalesChannelRow

CHANNEL = SalesChannelRow.__table__
PCH = PositionChannelRow.__table__
NUMBERS_SQL = "SELECT name, number FROM sales_channel"  # plain, for a driver cursor


def number(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Give each of `names` without a number the next free one; returns every channel's number.
    Writers take turns (SQLite's write lock, a table lock on PostgreSQL), so two never give
    the same number."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE sales_channel IN SHARE ROW EXCLUSIVE MODE"))
    given = dict(conn.execute(select(CHANNEL.c.name, CHANNEL.c.number)).all())
    free = conn.scalar(select(func.coalesce(func.max(CHANNEL.c.number), 0))) + 1
    for name in sorted(set(names) - given.keys()):
        if free > MAX_CHANNEL_NUMBER:
            raise OverflowError(f"at most {MAX_CHANNEL_NUMBER} sales channels")
        conn.execute(CHANNEL.insert().values(name=name, number=free))
        given[name], free = free, free + 1
    return given


def held_by_channel(
    conn: Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, int]]:
    """What each channel holds (more than nothing) at the positions `keys` (location, sku)."""
    keys = list(keys)
    if not keys:
        return {}
    held: dict[tuple[str, str], dict[str, int]] = {}
    for chunk in chunks(keys):
        query = select(PCH).where(among(PCH.c.location, PCH.c.sku, chunk), PCH.c.reserved > 0)
        for r in conn.execute(query):
            held.setdefault((r.location, r.sku), {})[r.channel] = r.reserved
    return held
