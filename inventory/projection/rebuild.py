"""Rebuilding the projection from SQL: the projection is derived, so this gives it back exactly.

The new projection is loaded as a generation of its own beside the live one, which readers go on
reading until one pointer switches them all to the new one (inventory.projection.generations):
a reader never sees a half-loaded projection, and writes committed meanwhile go to both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select

from inventory.ledger import Ledger, projected
from inventory.projection import building
from inventory.projection.generations import OLD_GENERATION_GRACE_S
from inventory.projection.stamp import server_run_id
from inventory.sql.schema import PositionChannelRow, PositionRow
from inventory.stock.inbound import open_inbound

POS = PositionRow.__table__
PCH = PositionChannelRow.__table__
REBUILD_CHUNK_POSITIONS = 20_000


@dataclass(frozen=True, slots=True)
class RebuildReport:
    removed_keys: int  # keys of the replaced generation, expiring after the grace
    positions: int
    inbound_skus: int
    network_version: str
    generation: int


def rebuild(ledger: Ledger, grace_s: float = OLD_GENERATION_GRACE_S) -> RebuildReport:
    """Load a new generation from the SQL ledger, switch readers to it, let the old one expire,
    then publish the network. Not before: on a Redis that came back empty, readers find no
    network and are refused until the switch, where a network published first would have them
    read the empty live generation, every SKU out of stock, for as long as the load runs."""
    projection = ledger.projection
    generation = building.begin(projection, grace_s)
    try:
        run_id = server_run_id(projection)  # a restart during the load leaves the stamp behind
        written = _load_positions(ledger, generation)
        inbound = open_inbound(ledger)
        for sku, entries in inbound.items():
            projection.load_inbound(generation, sku, entries)
        removed = building.switch(projection, generation, run_id, grace_s)
    except BaseException:
        building.abandon(projection, generation)
        raise
    try:
        version = ledger.publish_network()
    except BaseException:  # a projection without its network is not vouched for: built again
        projection.redis.delete(projection.stamp_key)
        raise
    return RebuildReport(removed, written, len(inbound), version, generation)


def _load_positions(ledger: Ledger, generation: int) -> int:
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
            building.renew(ledger.projection, generation)
            held: dict[tuple[str, str], dict[str, int]] = {}
            for r in rows:
                channels = held.setdefault((r.location, r.sku), {})
                if r.channel is not None:
                    channels[r.channel] = r.part
            positions = {(r.location, r.sku): r for r in rows}  # one split over two chunks
            ledger.projection.put_in_generation(
                generation, {k: projected(r, held[k]) for k, r in positions.items()}
            )
            written += len(positions)  # is written, and counted, twice: no harm
    return written
