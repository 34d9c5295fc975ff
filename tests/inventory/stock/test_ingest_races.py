"""Batches racing other writers on PostgreSQL: a position that moves, or is created, under a
batch's unlocked read is decided again with its row locked, without deadlocking a writer that
locks in order, and a safety-rule change waits for the batch creating a position from the old
rules. Each race is staged by patching the batch's SQL steps; where the other writer must be
blocked on the batch's lock, the test waits until the server reports it waiting, not for time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from unittest.mock import patch

import pytest

from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from inventory.projection.reconcile import reconcile
from inventory.sql import transaction as sql_transaction
from inventory.stock import ingest as ingest_module
from inventory.stock import ingest_sql as bulk
from inventory.stock.history import position_history
from inventory.stock.safety import SafetyRule
from tests.inventory.helpers import NETWORK, STORE, ev, outcomes, sku
from tests.inventory.lock_waits import wait_until_another_waits_on


@pytest.fixture
def ledger(backend):
    """The ledger on the test network, on the real clock (unlike the shared fixture's)."""
    backend.ledger.upsert_locations(NETWORK)
    return backend.ledger


@contextmanager
def another_batch_after_the_first_read(ledger, batch: list[dict]) -> Iterator[None]:
    """Inside, the first batch to read its positions lets `batch` commit, from another
    connection and transaction, before it writes them."""
    real, fired = bulk.read_positions, []

    def read_then_another_batch_commits(conn, keys):
        rows = real(conn, keys)
        if not fired:
            fired.append(True)
            with ThreadPoolExecutor(1) as other:
                other.submit(ledger.ingest, batch).result(timeout=10)
        return rows

    with patch.object(bulk, "read_positions", read_then_another_batch_commits):
        yield


@pytest.mark.server
@pytest.mark.parametrize("backend", ["server"], indirect=True)  # SQLite: one writer at a time
def test_a_position_that_moves_under_an_unlocked_read_is_decided_again(ledger, backend):
    """PostgreSQL reads a batch's positions without locks. When another writer commits to one of
    them before the batch writes it, the batch starts over with its positions locked and decides
    again: here a later count lands first, so the batch's sale turns out to be inside it."""
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 10, 0, eid=f"{s}-c0")])
    with another_batch_after_the_first_read(
        ledger, [ev(STORE.id, s, "count", 20, 10, eid=f"{s}-c1")]
    ):
        result = ledger.ingest([ev(STORE.id, s, "sale", 3, 5, eid=f"{s}-sale")])
    assert outcomes(result) == ["stale"]
    assert (STORE.id, s) not in result.changed  # the first decision's change is withdrawn
    assert ledger.position(STORE.id, s).on_hand == 20
    assert backend.projection.read([s])[s][STORE.id].on_hand == 20
    with ledger.engine.connect() as conn:
        chain = [e.event_id for e in position_history(conn, STORE.id, s)]
    assert chain == [f"{s}-sale", f"{s}-c1", f"{s}-c0"]
    assert reconcile(ledger).drifts == []


@pytest.mark.server
@pytest.mark.parametrize("backend", ["server"], indirect=True)  # SQLite: one writer at a time
def test_a_position_another_batch_creates_first_is_decided_again(ledger, backend):
    """Two batches both find a position missing; the one that inserts second finds it taken,
    starts over with it locked, and applies its events on top of the first batch's."""
    s = sku()
    with another_batch_after_the_first_read(
        ledger, [ev(STORE.id, s, "count", 20, 10, eid=f"{s}-c")]
    ):
        result = ledger.ingest([ev(STORE.id, s, "receive", 3, 15, eid=f"{s}-r")])
    assert outcomes(result) == ["applied"]
    assert ledger.position(STORE.id, s).on_hand == 23
    assert backend.projection.read([s])[s][STORE.id].on_hand == 23
    with ledger.engine.connect() as conn:
        assert [e.event_id for e in position_history(conn, STORE.id, s)] == [f"{s}-r", f"{s}-c"]


@pytest.mark.server
@pytest.mark.parametrize("backend", ["server"], indirect=True)
@pytest.mark.parametrize("other", ["batch", "hold"])
def test_a_batch_that_finds_a_position_moved_never_deadlocks_a_writer_locking_in_order(
    ledger, backend, other, postgres_admin
):
    """Batch A reads W < X unlocked; W moves; A writes X, finding W moved. Meanwhile B (a batch,
    or a two-line hold) takes W and waits for X. A must let go of X before it waits for W, or
    the two deadlock (PostgreSQL detects it after a second and one of them starts over)."""
    w, x = sorted([sku(), sku()])
    ledger.ingest([ev(STORE.id, w, "count", 10, 0), ev(STORE.id, x, "count", 10, 0)])
    index_plans = "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off"
    real_read, real_update, main = bulk.read_positions, bulk.update_positions, threading.get_ident()
    failures, second = [], []
    real_retryable = sql_transaction.retryable

    def read_then_w_moves(conn, keys):
        conn.exec_driver_sql(index_plans)  # rows locked in key order, as on a large table
        rows = real_read(conn, keys)
        if threading.get_ident() == main and not second:
            pool.submit(ledger.ingest, [ev(STORE.id, w, "receive", 1, 1)]).result(timeout=10)
        return rows

    def write_then_b_starts(conn, rows):
        moved = real_update(conn, rows)
        if threading.get_ident() == main and not second:
            if other == "batch":
                second.append(pool.submit(ledger.ingest, [ev(STORE.id, w, "receive", 1, 2),
                                                          ev(STORE.id, x, "receive", 1, 2)]))  # fmt: skip
            else:
                request = HoldRequest(id=f"H-{w}", lines=[HoldLine(sku=w, quantity=1, location=STORE.id),
                                                          HoldLine(sku=x, quantity=1, location=STORE.id)])  # fmt: skip
                hold = Reservations(ledger, backend.reader, group_commit=False).hold
                second.append(pool.submit(hold, request))
            wait_until_another_waits_on(conn, postgres_admin)  # B waits for X
        return moved

    def retryable(error: Exception) -> bool:
        again = real_retryable(error)
        if again:  # a deadlock or a serialization failure: the race was not avoided
            failures.append(str(error).splitlines()[0])
        return again

    with (
        ThreadPoolExecutor(2) as pool,
        patch.object(bulk, "read_positions", read_then_w_moves),
        patch.object(bulk, "update_positions", write_then_b_starts),
        patch.object(sql_transaction, "retryable", retryable),
    ):
        ledger.ingest([ev(STORE.id, w, "receive", 1, 3), ev(STORE.id, x, "receive", 1, 3)])
        second[0].result(timeout=30)
    assert failures == []
    receipts = 2 if other == "batch" else 1
    assert ledger.position(STORE.id, w).on_hand == 10 + 1 + receipts
    assert ledger.position(STORE.id, x).on_hand == 10 + receipts
    assert reconcile(ledger).drifts == []


@pytest.mark.server
@pytest.mark.parametrize("backend", ["server"], indirect=True)  # SQLite: one writer at a time
def test_a_rule_change_racing_a_new_position_leaves_it_the_new_safety_stock(
    ledger, backend, postgres_admin
):
    """A batch reads the safety rules to create a position; the rules are replaced before it
    commits. The replacement waits for the batch, then gives the new position its buffer."""
    s = sku()
    real, pending = ingest_module._safety_of, []

    def read_rules_then_they_change(conn, keys, types):
        units = real(conn, keys, types)
        if not pending:
            pending.append(pool.submit(ledger.set_safety_rules, [SafetyRule(3, sku=s)]))
            wait_until_another_waits_on(conn, postgres_admin)  # the replacement is held back
        return units

    with (
        ThreadPoolExecutor(1) as pool,
        patch.object(ingest_module, "_safety_of", read_rules_then_they_change),
    ):
        ledger.ingest([ev(STORE.id, s, "count", 10, 0)])
        pending[0].result(timeout=10)
    assert ledger.position(STORE.id, s).safety == 3
    assert backend.projection.read([s])[s][STORE.id].safety == 3
