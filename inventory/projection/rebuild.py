"""Rebuilding the projection from SQL: the projection is derived, so this gives it back exactly."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from inventory.ledger import Ledger, projected
from inventory.sql.schema import PositionRow
from inventory.stock.inbound import project_inbound_all

POS = PositionRow.__table__
REBUILD_CHUNK_POSITIONS = 20_000


@dataclass(frozen=True, slots=True)
class RebuildReport:
    removed_keys: int
    positions: int
    inbound_skus: int
    network_version: str


def rebuild(ledger: Ledger, wipe: bool = True) -> RebuildReport:
    """Wipe the projection (only keys under its prefix) and load it again from the SQL ledger."""
    removed = ledger.projection.wipe() if wipe else 0
    version = ledger.publish_network()
    written = 0
    query = select(
        POS.c.location,
        POS.c.sku,
        POS.c.on_hand,
        POS.c.reserved,
        POS.c.safety,
        POS.c.reported_us,
        POS.c.version,
    )
    with ledger.engine.connect() as conn:
        result = conn.execution_options(yield_per=REBUILD_CHUNK_POSITIONS).execute(query)
        for rows in result.partitions():
            ledger.projection.put({(r.location, r.sku): projected(r) for r in rows})
            written += len(rows)
    inbound_skus = project_inbound_all(ledger)
    return RebuildReport(removed, written, inbound_skus, version)
