"""The projection against SQL: a Redis position that differs from its row, or one SQL does not know.
The projection is live, so entries that moved on since reconcile's snapshot are judged against
SQL as it is now, not as a drift.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from inventory.domain.projected import Projected
from inventory.ledger import Ledger, projected
from inventory.projection.drift import Drift
from inventory.sql.channels import held_by_channel
from inventory.sql.engine import SNAPSHOT
from inventory.sql.keys import among, chunks
from inventory.sql.schema import (
    PositionRow,
)

POS = PositionRow.__table__


def _mismatch(location: str, sku: str, want: Projected, have: Projected) -> Drift:
    detail = f"projection {have.encode()} != ledger {want.encode()}"
    return Drift("projection", location, sku, want.available, have.available, detail)


class Now:
    """The positions as they are now, for projection entries reconcile's snapshot cannot judge:
    the projection is live, and what committed while reconcile ran is not a drift."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._fresh: Connection | None = None

    def __enter__(self) -> Now:
        return self

    def __exit__(self, *_: object) -> None:
        if self._fresh is not None:
            self._fresh.close()

    def drifts(self, entries: dict[tuple[str, str], Projected]) -> list[Drift]:
        """The projection entries (location, sku) -> value that differ from SQL now."""
        if not entries:
            return []
        self._fresh = self._fresh or self._ledger.engine.connect().execution_options(
            **{SNAPSHOT: True}
        )
        conn = self._fresh
        rows = [
            r
            for chunk in chunks(sorted(entries))
            for r in conn.execute(select(POS).where(among(POS.c.location, POS.c.sku, chunk)))
        ]
        held = held_by_channel(conn, entries)
        current = {
            (r.location, r.sku): projected(r, held.get((r.location, r.sku), {})) for r in rows
        }
        conn.rollback()  # the next look sees the commits made since
        found = []
        for (location, sku), have in sorted(entries.items()):
            want = current.get((location, sku))
            if want is None:
                found.append(
                    Drift("projection", location, sku, None, have.available, "not in the ledger")
                )
            elif want != have:
                found.append(_mismatch(location, sku, want, have))
        return found


def projection_drift(snapshot: Connection, now: Now, ledger: Ledger, chunk) -> list[Drift]:
    found = ledger.projection.read({r.sku for r in chunk})
    held = held_by_channel(snapshot, [(r.location, r.sku) for r in chunk])
    drifts, seen, ahead = [], set(), {}
    for r in chunk:
        seen.add((r.location, r.sku))
        want = projected(r, held.get((r.location, r.sku), {}))
        have = found[r.sku].get(r.location)
        if have is None:
            drifts.append(
                Drift(
                    "projection",
                    r.location,
                    r.sku,
                    want.available,
                    None,
                    "missing from the projection",
                )
            )
        elif have.version > want.version:  # moved on since the snapshot, or wrong: ask SQL now
            ahead[(r.location, r.sku)] = have
        elif have != want:
            drifts.append(_mismatch(r.location, r.sku, want, have))
    # Fields of these SKUs that the chunk did not hold: stray, unless the SKU spills into the
    # next chunk (or the position was made since the snapshot).
    others = {
        (loc, sku): value
        for sku, fields in found.items()
        for loc, value in fields.items()
        if (loc, sku) not in seen
    }
    if others:  # the next chunk checks the ones the snapshot holds
        for chunk in chunks(sorted(others)):
            held = snapshot.execute(
                select(POS.c.location, POS.c.sku).where(among(POS.c.location, POS.c.sku, chunk))
            )
            for key in held:
                del others[tuple(key)]
    return drifts + now.drifts(ahead | others)


def stray_projection(now: Now, ledger: Ledger, skus: set[str]) -> list[Drift]:
    """Whole SKUs the projection holds that the ledger's snapshot does not know at all."""
    stray = [sku for sku in ledger.projection.stock_skus() if sku not in skus]
    found = ledger.projection.read(stray)
    return now.drifts({(loc, sku): v for sku in stray for loc, v in found[sku].items()})
