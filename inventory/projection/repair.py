"""Repairs never overwrite silently: a position that left its record is brought back with a
correction entry in `ledger_correction` saying what it was, what it became and why; a drifted
projection entry is re-derived from SQL.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, true, update

from inventory.domain.time import to_micros
from inventory.ledger import Ledger, projected
from inventory.projection.drift import Drift
from inventory.sql.channels import held_by_channel
from inventory.sql.keys import among, chunks
from inventory.sql.schema import (
    CorrectionRow,
    PositionRow,
)

POS = PositionRow.__table__
FIX = CorrectionRow.__table__


def repair(ledger: Ledger, drifts: list[Drift]) -> int:
    stamp = to_micros(ledger.clock())
    fixes, written = [d for d in drifts if d.kind in ("on_hand", "reserved")], 0
    if fixes:
        changed, written = ledger.transaction(lambda conn: _correct(conn, fixes, stamp))
        ledger.projection.put(changed)
    stale = [d for d in drifts if d.kind == "projection"]
    _reproject(ledger, stale)
    return written + len(stale)


def _correct(conn: Connection, drifts: list[Drift], stamp: int) -> tuple[dict, int]:
    """Bring each position back to what its record says, with a correction entry for each change.
    A position that moved since it was checked (its version) is left for the next run: the drift
    seen may be gone, and the value decided from it would overwrite a live one."""
    changed, written = {}, 0
    versions: dict[tuple[str, str], int | None] = {}  # as this repair moves them
    for d in sorted(drifts, key=lambda d: (d.location, d.sku, d.kind)):
        version = versions.get((d.location, d.sku), d.version)
        row = conn.execute(
            update(POS).where(POS.c.location == d.location, POS.c.sku == d.sku, POS.c[d.kind] == d.found,
                              POS.c.version == version if version is not None else true())
            .values({d.kind: d.ledger, "version": POS.c.version + 1}).returning(*POS.c)
        ).first()  # fmt: skip
        if row is None:
            continue
        versions[(d.location, d.sku)] = row.version
        conn.execute(FIX.insert(), {"location": d.location, "sku": d.sku, "field": d.kind, "before": d.found,
                                    "after": d.ledger, "reason": d.detail, "at_us": stamp})  # fmt: skip
        changed[(d.location, d.sku)] = projected(row)
        written += 1
    return changed, written


def _reproject(ledger: Ledger, drifts: list[Drift]) -> None:
    """Write the ledger's value over a drifted projection field, or delete a stray one; a
    channel's pool the ledger has nothing in is written as none (or deleted with its position)."""
    projection, keys = ledger.projection, {(d.location, d.sku) for d in drifts}
    if not keys:
        return
    with ledger.engine.connect() as conn:
        rows = {
            (r.location, r.sku): r
            for chunk in chunks(sorted(keys))
            for r in conn.execute(select(POS).where(among(POS.c.location, POS.c.sku, chunk)))
        }
        held = held_by_channel(conn, keys)
    shown = projection.read({sku for _, sku in keys})
    pools = {(loc, sku): shown[sku][loc].by_channel for loc, sku in keys if loc in shown[sku]}
    for location, sku in keys - rows.keys():
        projection.remove(location, sku, pools.get((location, sku), {}))
    projection.overwrite(
        {
            key: projected(row, dict.fromkeys(pools.get(key, {}), 0) | held.get(key, {}))
            for key, row in rows.items()
        }
    )
