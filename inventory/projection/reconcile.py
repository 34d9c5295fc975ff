"""Drift and repair: compare the projection with the ledger, and positions with their own history.

Three kinds of drift are found:
  projection  a Redis position differs from SQL, or Redis holds a position SQL does not know;
  on_hand     a position's on_hand differs from the fold of its stock events;
  reserved    a position's reserved differs from the open holds and orders that keep units there.
Repairs never overwrite silently: a position that left its record (on_hand against its events,
reserved against its holds) is brought back with a correction entry in `ledger_correction` saying
what it was, what it became and why; the projection is re-derived from SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, true, tuple_, update

from inventory.domain.model import EventType, StockEvent
from inventory.domain.projected import Projected
from inventory.domain.time import from_micros, to_micros
from inventory.ledger import Ledger, projected
from inventory.sql.engine import SNAPSHOT
from inventory.sql.schema import (
    CorrectionRow,
    PositionRow,
    ReservationLineRow,
    ReservationRow,
    StockEventRow,
)
from inventory.stock.count_rule import Ledgered, fold

POS, EVT = PositionRow.__table__, StockEventRow.__table__
RES, LINE, FIX = ReservationRow.__table__, ReservationLineRow.__table__, CorrectionRow.__table__
CHUNK_POSITIONS = 5_000


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # projection | on_hand | reserved
    location: str
    sku: str
    ledger: int | None  # what SQL (or the history) says
    found: int | None  # what was found instead
    detail: str = ""
    version: int | None = None  # the position's version when it was checked


@dataclass(slots=True)
class ReconcileReport:
    checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    repaired: int = 0


def reconcile(ledger: Ledger, repair: bool = False) -> ReconcileReport:
    report = ReconcileReport()
    with ledger.engine.connect() as conn, _Now(ledger) as now:
        # One snapshot for positions, events and holds, without holding writers back.
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn = conn.execution_options(**{SNAPSHOT: True})
        kept = _kept_by_holds(conn)
        rows = conn.execution_options(yield_per=CHUNK_POSITIONS).execute(
            select(POS).order_by(*_in_key_order(conn, POS))
        )
        histories = _Histories(conn)  # a second cursor, in the same snapshot
        skus: set[str] = set()
        for chunk in rows.partitions():
            report.checked += len(chunk)
            skus.update(r.sku for r in chunk)
            report.drifts += (
                _history_drift(histories, chunk)
                + _reserved_drift(chunk, kept)
                + _projection_drift(conn, now, ledger, chunk)
            )
        report.drifts += _stray_projection(now, ledger, skus)
    if repair:
        report.repaired = _repair(ledger, report.drifts)
    return report


def _kept_by_holds(conn: Connection) -> dict[tuple[str, str], int]:
    kept: dict[tuple[str, str], int] = defaultdict(int)
    query = select(LINE.c.location, LINE.c.sku, LINE.c.quantity).join(
        RES, RES.c.id == LINE.c.reservation_id
    )
    for r in conn.execute(query.where(RES.c.status.in_(["held", "consumed"]))):
        kept[(r.location, r.sku)] += r.quantity
    return kept


def _in_key_order(conn: Connection, table) -> list:
    """(sku, location) in code-point order, the order Python compares strings in, so the
    positions and the event log can be merged as two sorted streams."""
    columns = [table.c.sku, table.c.location]
    return [c.collate("C") for c in columns] if conn.dialect.name == "postgresql" else columns


class _Histories:
    """Every recorded stock event, grouped by position, in key order: one sorted pass over the
    event log (it has no index by position), taken in step with the positions."""

    def __init__(self, conn: Connection) -> None:
        rows = conn.execution_options(yield_per=CHUNK_POSITIONS * 4).execute(
            select(EVT).order_by(*_in_key_order(conn, EVT))
        )
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def take(self, sku: str, location: str) -> list[StockEvent]:
        """The events of (sku, location); keys must be asked for in increasing order. Events
        of a position not asked for (there is none: every recorded event has its position)
        are passed over."""
        key, events = (sku, location), []
        while self._next is not None and (self._next.sku, self._next.location) <= key:
            e = self._next
            if (e.sku, e.location) == key:
                events.append(
                    StockEvent(e.event_id, e.location, e.sku, EventType(e.type), e.quantity,
                               from_micros(e.occurred_us), e.source)
                )  # fmt: skip
            self._next = next(self._rows, None)
        return events


def _history_drift(histories: _Histories, chunk) -> list[Drift]:
    drifts = []
    for r in chunk:
        expected = fold(Ledgered(), histories.take(r.sku, r.location))[0].on_hand
        if expected != r.on_hand:
            drifts.append(
                Drift(
                    "on_hand",
                    r.location,
                    r.sku,
                    expected,
                    r.on_hand,
                    "differs from its stock events",
                    r.version,
                )
            )
    return drifts


def _reserved_drift(chunk, kept: dict[tuple[str, str], int]) -> list[Drift]:
    return [
        Drift(
            "reserved",
            r.location,
            r.sku,
            kept.get((r.location, r.sku), 0),
            r.reserved,
            "differs from open holds",
            r.version,
        )
        for r in chunk
        if r.reserved != kept.get((r.location, r.sku), 0)
    ]


def _mismatch(location: str, sku: str, want: Projected, have: Projected) -> Drift:
    detail = f"projection {have.encode()} != ledger {want.encode()}"
    return Drift("projection", location, sku, want.available, have.available, detail)


class _Now:
    """The positions as they are now, for projection entries reconcile's snapshot cannot judge:
    the projection is live, and what committed while reconcile ran is not a drift."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._fresh: Connection | None = None

    def __enter__(self) -> _Now:
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
        rows = conn.execute(select(POS).where(tuple_(POS.c.location, POS.c.sku).in_(list(entries))))
        current = {(r.location, r.sku): projected(r) for r in rows}
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


def _projection_drift(snapshot: Connection, now: _Now, ledger: Ledger, chunk) -> list[Drift]:
    found = ledger.projection.read({r.sku for r in chunk})
    drifts, seen, ahead = [], set(), {}
    for r in chunk:
        seen.add((r.location, r.sku))
        want, have = projected(r), found[r.sku].get(r.location)
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
        held = snapshot.execute(
            select(POS.c.location, POS.c.sku).where(
                tuple_(POS.c.location, POS.c.sku).in_(list(others))
            )
        )
        for key in held:
            del others[tuple(key)]
    return drifts + now.drifts(ahead | others)


def _stray_projection(now: _Now, ledger: Ledger, skus: set[str]) -> list[Drift]:
    """Whole SKUs the projection holds that the ledger's snapshot does not know at all."""
    stray = [sku for sku in ledger.projection.stock_skus() if sku not in skus]
    found = ledger.projection.read(stray)
    return now.drifts({(loc, sku): v for sku in stray for loc, v in found[sku].items()})


def _repair(ledger: Ledger, drifts: list[Drift]) -> int:
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
    """Write the ledger's value over a drifted projection field, or delete a stray one."""
    projection, keys = ledger.projection, {(d.location, d.sku) for d in drifts}
    with ledger.engine.connect() as conn:
        rows = (
            {
                (r.location, r.sku): r
                for r in conn.execute(
                    select(POS).where(tuple_(POS.c.location, POS.c.sku).in_(list(keys)))
                )
            }
            if keys
            else {}
        )
    for location, sku in keys - rows.keys():
        projection.remove(location, sku)
    projection.overwrite({key: projected(row) for key, row in rows.items()})
