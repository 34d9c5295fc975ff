"""Drift between the projection, the positions and their history is found, then repaired by entries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select, text, update

import inventory.projection.record_drift as record_drift
import inventory.projection.repair as repair_module
from inventory.domain.projected import Projected
from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from inventory.projection.drift import Drift
from inventory.projection.reconcile import reconcile
from inventory.sql.schema import CorrectionRow, PositionRow
from tests.inventory.helpers import NETWORK, STORE, T0, WAREHOUSE, ev, sku

POS = PositionRow.__table__


def seeded(backend) -> list[str]:
    backend.ledger.upsert_locations(NETWORK)
    backend.reader.clock = lambda: T0 + timedelta(hours=1)
    skus = [sku() for _ in range(4)]
    backend.ledger.ingest(
        [ev(loc.id, s, "count", 5 + i, 0) for i, s in enumerate(skus) for loc in (WAREHOUSE, STORE)]
    )
    backend.ledger.ingest([ev(STORE.id, s, "sale", 1, 2) for s in skus])
    Reservations(backend.ledger, backend.reader, group_commit=False).hold(
        HoldRequest(
            id=f"H-{skus[0]}", lines=[HoldLine(sku=skus[0], quantity=2, location=WAREHOUSE.id)]
        )
    )
    return skus


def test_a_consistent_ledger_reports_no_drift(backend):
    seeded(backend)
    report = reconcile(backend.ledger)
    assert report.checked == 8
    assert report.drifts == []


def test_projection_drift_is_found_and_repaired_from_the_ledger(backend):
    skus = seeded(backend)
    answers = backend.reader.check(skus)
    projection, ghost = backend.projection, "#9999"  # a slot no location of the ledger holds
    projection.overwrite({(WAREHOUSE.id, skus[0]): Projected(999, 50, 0, 0, 0)})
    assert projection.remove(STORE.id, skus[1]) == 1
    projection.overwrite({(ghost, skus[2]): Projected(1, 9, 0, 0, 0)})
    projection.overwrite({(WAREHOUSE.id, "SKU-UNKNOWN-" + skus[3]): Projected(1, 9, 0, 0, 0)})
    found = reconcile(backend.ledger, repair=True)
    kinds = sorted((d.kind, d.location, d.detail.split(" ")[0]) for d in found.drifts)
    assert kinds == sorted([
        ("projection", WAREHOUSE.id, "projection"),
        ("projection", STORE.id, "missing"),
        ("projection", ghost, "not"),
        ("projection", WAREHOUSE.id, "not"),
    ])  # fmt: skip
    assert found.repaired == 4
    assert reconcile(backend.ledger).drifts == []
    assert backend.reader.check(skus) == answers


def test_on_hand_drift_is_repaired_back_to_the_stock_events_with_a_correction(backend):
    skus = seeded(backend)
    with backend.ledger.engine.begin() as conn:
        conn.execute(
            update(POS)
            .where(POS.c.location == STORE.id, POS.c.sku == skus[1])
            .values(on_hand=POS.c.on_hand + 3)
        )
    report = reconcile(backend.ledger, repair=True)
    [drift] = [d for d in report.drifts if d.kind == "on_hand"]
    assert (drift.ledger, drift.found) == (5, 8)
    assert {d.kind for d in report.drifts} == {
        "on_hand",
        "projection",
    }  # Redis never saw the bad write
    assert backend.ledger.position(STORE.id, skus[1]).on_hand == 5
    with backend.ledger.engine.connect() as conn:
        fix = conn.execute(select(CorrectionRow.__table__)).one()
    assert (fix.field, fix.before, fix.after) == ("on_hand", 8, 5)
    assert reconcile(backend.ledger).drifts == []
    assert backend.projection.read([skus[1]])[skus[1]][STORE.id].on_hand == 5


def test_reserved_drift_is_corrected_and_the_correction_recorded(backend):
    skus = seeded(backend)
    with backend.ledger.engine.begin() as conn:
        conn.execute(
            update(POS)
            .where(POS.c.location == WAREHOUSE.id, POS.c.sku == skus[0])
            .values(reserved=0)
        )
    report = reconcile(backend.ledger, repair=True)
    [drift] = [d for d in report.drifts if d.kind == "reserved"]
    assert (drift.ledger, drift.found) == (2, 0)
    assert backend.ledger.position(WAREHOUSE.id, skus[0]).reserved == 2
    with backend.ledger.engine.connect() as conn:
        fix = conn.execute(select(CorrectionRow.__table__)).one()
    assert (fix.field, fix.before, fix.after) == ("reserved", 0, 2)
    assert reconcile(backend.ledger).drifts == []


def test_each_position_is_checked_against_its_own_events_across_chunks(backend, monkeypatch):
    """Positions and the event log are merged as two sorted streams: keys that sort differently
    by code point than by a locale (case, punctuation) and chunk edges must not shift one
    position's events onto another."""
    monkeypatch.setattr("inventory.projection.reconcile.CHUNK_POSITIONS", 3)
    if backend.name == "server":  # this database sorts by code point already: make it a locale
        with backend.ledger.engine.begin() as conn:
            for table, column, width in (
                ("position", "location", 64),
                ("position", "sku", 64),
                ("stock_event", "location", 64),
                ("stock_event", "sku", 64),
            ):
                conn.execute(text(f'ALTER TABLE {table} ALTER COLUMN {column} '
                                  f'TYPE varchar({width}) COLLATE "en-x-icu"'))  # fmt: skip
    backend.ledger.upsert_locations(NETWORK)
    stem = sku()
    skus = [f"{stem}-{tail}" for tail in ("b", "B", "a.b", "a-b", "A:b", "e", "z", "Z", "ab")]
    backend.ledger.ingest(
        [
            ev(loc.id, s, "count", 10 + i, 0)
            for i, s in enumerate(skus)
            for loc in (WAREHOUSE, STORE)
        ]
        + [ev(STORE.id, s, "sale", 1 + i % 3, 1) for i, s in enumerate(skus)]
    )
    assert reconcile(backend.ledger).drifts == []
    with backend.ledger.engine.begin() as conn:
        conn.execute(
            update(POS).where(POS.c.location == STORE.id, POS.c.sku == skus[4]).values(on_hand=0)
        )
    report = reconcile(backend.ledger)
    assert report.checked == 18
    assert sorted((d.kind, d.location, d.sku, d.ledger, d.found) for d in report.drifts) == [
        ("on_hand", STORE.id, skus[4], 14 - 2, 0),  # its events say 12
        ("projection", STORE.id, skus[4], 0, 12),  # Redis never saw the bad write
    ]


def test_a_batch_committed_while_reconcile_runs_is_no_drift(backend, monkeypatch):
    """Reconcile holds no writer back: positions and events are read in one snapshot while a
    batch commits, and the projection, which is live, is judged against SQL as it is now where
    it is ahead of that snapshot."""
    skus = seeded(backend)
    real_init = record_drift.Histories.__init__

    def a_batch_commits_meanwhile(self, conn, chunk_positions):
        with ThreadPoolExecutor(1) as other:
            other.submit(backend.ledger.ingest, [ev(STORE.id, skus[1], "sale", 1, 3)]).result(10)
        real_init(self, conn, chunk_positions)

    monkeypatch.setattr(record_drift.Histories, "__init__", a_batch_commits_meanwhile)
    assert reconcile(backend.ledger).drifts == []


def test_a_repair_leaves_a_position_that_moved_since_it_was_checked(backend):
    skus = seeded(backend)
    now = backend.ledger.position(STORE.id, skus[1])
    with backend.ledger.engine.connect() as conn:
        version = conn.execute(
            select(POS.c.version).where(POS.c.location == STORE.id, POS.c.sku == skus[1])
        ).scalar_one()
    for seen in (
        Drift("on_hand", STORE.id, skus[1], 99, 1234, "another value", version),
        Drift("on_hand", STORE.id, skus[1], 99, now.on_hand, "older", version - 1),
    ):
        changed, written = backend.ledger.transaction(
            lambda conn, seen=seen: repair_module._correct(conn, [seen], 0)
        )
        assert (changed, written) == ({}, 0)  # nothing is overwritten
    assert backend.ledger.position(STORE.id, skus[1]).on_hand == now.on_hand


def test_a_sku_split_across_chunks_reports_a_drifted_field_once(backend, monkeypatch):
    monkeypatch.setattr("inventory.projection.reconcile.CHUNK_POSITIONS", 1)
    skus = seeded(backend)
    backend.projection.overwrite({(STORE.id, skus[2]): Projected(999, 50, 0, 0, 0)})
    report = reconcile(backend.ledger, repair=True)
    assert [(d.kind, d.location, d.sku) for d in report.drifts] == [
        ("projection", STORE.id, skus[2])
    ]
    assert report.repaired == 1
    assert reconcile(backend.ledger).drifts == []
