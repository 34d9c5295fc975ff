"""Positions as SQL holds them now, in the projection's terms: what a replayed call projects again.

A call whose first attempt committed and then failed to reach the projection is answered from the
record when retried; it projects the positions it touched as they stand, so the projection
catches up with SQL without a rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from inventory.domain.projected import Projected
from inventory.sql.keys import among, chunks
from inventory.sql.schema import PositionChannelRow, PositionRow

Key = tuple[str, str]
POS = PositionRow.__table__
PCH = PositionChannelRow.__table__


def current(conn: Connection, keys: Iterable[Key]) -> dict[Key, Projected]:
    """The positions of `keys` that exist, with what each channel holds there."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    held: dict[Key, dict[str, int]] = {}
    rows = []
    for chunk in chunks(wanted):
        for loc, sku, channel, part in conn.execute(
            select(PCH.c.location, PCH.c.sku, PCH.c.channel, PCH.c.reserved).where(
                among(PCH.c.location, PCH.c.sku, chunk)
            )
        ):
            held.setdefault((loc, sku), {})[channel] = part
        rows += conn.execute(select(POS).where(among(POS.c.location, POS.c.sku, chunk))).all()
    return {
        (r.location, r.sku): Projected.of(
            r.version,
            r.on_hand,
            r.reserved,
            r.safety,
            r.reported_us,
            held.get((r.location, r.sku), {}),
        )
        for r in rows
    }
