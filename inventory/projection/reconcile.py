"""Drift and repair: compare the projection with the ledger, and positions with their own history.

Three kinds of drift are found:
  projection  a Redis position differs from SQL, or Redis holds a position SQL does not know;
  on_hand     a position's on_hand differs from the fold of its stock events;
  reserved    a position's reserved differs from the open holds and orders that keep units there.
Beside drift, every short position is named with the holds it leaves short (a count below what
is reserved there, inventory.holds.shortfall): nothing to repair here, the order lifecycle
re-routes those holds. Repairs never overwrite silently: a position that left its record (on_hand against its events,
reserved against its holds) is brought back with a correction entry in `ledger_correction` saying
what it was, what it became and why; the projection is re-derived from SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from inventory.holds import shortfall_sql
from inventory.holds.shortfall import ShortPosition
from inventory.ledger import Ledger
from inventory.projection.drift import Drift
from inventory.projection.projection_drift import Now, projection_drift, stray_projection
from inventory.projection.record_drift import (
    Histories,
    history_drift,
    in_key_order,
    kept_by_holds,
    reserved_drift,
)
from inventory.projection.repair import repair as repair_drifts
from inventory.sql.engine import SNAPSHOT
from inventory.sql.schema import PositionRow

POS = PositionRow.__table__
CHUNK_POSITIONS = 5_000  # positions checked per pass (and their events, read in step)


@dataclass(slots=True)
class ReconcileReport:
    checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    repaired: int = 0
    short: list[ShortPosition] = field(default_factory=list)  # left as found: see above


def reconcile(ledger: Ledger, repair: bool = False) -> ReconcileReport:
    """Check every position, in chunks from one snapshot, for the three kinds of drift and for
    short holds; with `repair`, bring back what drifted (inventory.projection.repair)."""
    report = ReconcileReport()
    with ledger.engine.connect() as conn, Now(ledger) as now:
        # One snapshot for positions, events and holds, without holding writers back.
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn = conn.execution_options(**{SNAPSHOT: True})
        kept = kept_by_holds(conn)
        rows = conn.execution_options(yield_per=CHUNK_POSITIONS).execute(
            select(POS).order_by(*in_key_order(conn, POS))
        )
        histories = Histories(conn, CHUNK_POSITIONS)  # a second cursor, in the same snapshot
        skus: set[str] = set()
        for chunk in rows.partitions():
            report.checked += len(chunk)
            skus.update(r.sku for r in chunk)
            report.drifts += (
                history_drift(histories, chunk)
                + reserved_drift(chunk, kept)
                + projection_drift(conn, now, ledger, chunk)
            )
            report.short += shortfall_sql.of_rows(conn, chunk)
        report.drifts += stray_projection(now, ledger, skus)
    if repair:
        report.repaired = repair_drifts(ledger, report.drifts)
    return report
