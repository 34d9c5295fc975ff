"""Rebuilding the projection from SQL: the projection is derived, so this gives it back exactly."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select

from inventory.ledger import Ledger, projected
from inventory.sql.schema import PositionChannelRow, PositionRow
from inventory.stock.inbound import project_inbound_all

POS = PositionRow.__table__
PCH = PositionChannelRow.__table__
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
    # A position comes once per channel holding units there (the pool entries), once if none.
    parts = and_(PCH.c.location == POS.c.location, PCH.c.sku == POS.c.sku, PCH.c.reserved > 0)
    query = select(
        POS.c.location,
        POS.c.sku,
        POS.c.on_hand,
        POS.c.reserved,
        POS.c.safety,
        POS.c.reported_us,
        POS.c.version,
        PCH.c.channel,
        PCH.c.reserved.label("part"),
    ).outerjoin(PCH, parts)
    with ledger.engine.connect() as conn:
        result = conn.execution_options(yield_per=REBUILD_CHUNK_POSITIONS).execute(query)
        for rows in result.partitions():
            held: dict[tuple[str, str], dict[str, int]] = {}
            for r in rows:
                channels = held.setdefault((r.location, r.sku), {})
                if r.channel is not None:
                    channels[r.channel] = r.part
            positions = {(r.location, r.sku): r for r in rows}  # one split over two chunks
            ledger.projection.put({k: projected(r, held[k]) for k, r in positions.items()})
            written += len(positions)  # is written, and counted, twice: no harm
    inbound_skus = project_inbound_all(ledger)
    return RebuildReport(removed, written, inbound_skus, version)
