"""Stock feeds into the ledger, on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from unittest.mock import patch

import pytest

from inventory import ledger as ledger_module
from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from inventory.projection.reconcile import reconcile
from inventory.sql import transaction as sql_transaction
from inventory.stock import ingest as ingest_module
from inventory.stock import ingest_sql as bulk
from inventory.stock.count_rule import Outcome
from inventory.stock.feed import MAX_BATCH_EVENTS, BatchTooLarge
from inventory.stock.history import position_history
from inventory.stock.safety import SafetyRule
from tests.inventory.helpers import NETWORK, STORE, WAREHOUSE, ev, sku
from tests.inventory.lock_waits import wait_until_another_waits_on


@pytest.fixture
def ledger(backend):
    backend.ledger.upsert_locations(NETWORK)
    return backend.ledger


def outcomes(result) -> list[str]:
    return [v.outcome.value for _, v in result.verdicts]


def test_a_count_then_later_sales_give_the_on_hand(ledger, backend):
    s = sku()
    result = ledger.ingest(
        [
            ev(STORE.id, s, "count", 10, 0),
            ev(STORE.id, s, "sale", 3, 5),
            ev(STORE.id, s, "receive", 4, 6),
        ]
    )
    assert outcomes(result) == ["applied"] * 3
    assert ledger.position(STORE.id, s).on_hand == 11
    assert backend.projection.read([s])[s][STORE.id].on_hand == 11


def test_replaying_an_event_changes_nothing_and_answers_its_first_result(ledger, backend):
    s = sku()
    receipt = ev(STORE.id, s, "receive", 5, 1)
    ledger.ingest([receipt])
    late = ev(STORE.id, s, "count", 9, 5)
    stale = ev(STORE.id, s, "sale", 2, 3)  # before the count: inside it
    assert outcomes(ledger.ingest([late, stale])) == ["applied", "stale"]
    again = ledger.ingest([receipt, stale, receipt])
    assert outcomes(again) == ["duplicate"] * 3
    assert [v.first.value for _, v in again.verdicts] == ["applied", "stale", "applied"]
    assert again.changed == {}
    assert ledger.position(STORE.id, s).on_hand == 9


def test_a_duplicate_inside_one_batch_counts_once(ledger):
    s = sku()
    receipt = ev(STORE.id, s, "receive", 5, 1)
    nowhere = ev("NO-SUCH-PLACE", s, "receive", 5, 1)
    result = ledger.ingest([receipt, receipt, nowhere, nowhere])
    assert outcomes(result) == ["applied", "duplicate", "rejected", "duplicate"]
    assert [v.first for _, v in result.verdicts] == [None, "applied", None, "rejected"]
    assert ledger.position(STORE.id, s).on_hand == 5


def test_a_late_sale_from_before_the_count_is_recorded_as_stale(ledger):
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 10, 10)])
    result = ledger.ingest([ev(STORE.id, s, "sale", 2, 5)])
    assert outcomes(result) == ["stale"]
    assert ledger.position(STORE.id, s).on_hand == 10


def test_a_late_count_keeps_the_receipts_that_followed_it(ledger, backend):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "receive", 5, 20)])
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 10, 10)])
    assert ledger.position(WAREHOUSE.id, s).on_hand == 15
    assert backend.projection.read([s])[s][WAREHOUSE.id].on_hand == 15


def test_an_older_count_than_the_applied_one_is_ignored(ledger):
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 4, 30)])
    result = ledger.ingest([ev(STORE.id, s, "count", 9, 10)])
    assert outcomes(result) == ["stale"]
    assert result.verdicts[0][1].reason == "older than the count already applied"
    assert ledger.position(STORE.id, s).on_hand == 4


def test_bad_events_are_rejected_each_with_its_reason_and_change_nothing(ledger, backend):
    s = sku()
    good = ev(STORE.id, s, "receive", 3, 1)
    bad = [
        ev("NOWHERE", s, "receive", 1),
        ev(STORE.id, s, "receive", -2),
        ev(STORE.id, s, "count", -1),
        ev(STORE.id, s, "receive", 10**9),
        {**ev(STORE.id, s, "receive", 1), "type": "teleport"},
        {**ev(STORE.id, s, "receive", 1), "quantity": "lots"},
        {**ev(STORE.id, s, "receive", 1), "occurred_at": "2999-01-01T00:00:00+00:00"},
        {**ev(STORE.id, s, "receive", 1), "occurred_at": "2026-11-01T08:00:00"},
        {**ev(STORE.id, s, "receive", 1), "unexpected": True},
        "not an event",
    ]
    result = ledger.ingest([good, *bad])
    verdicts = [v for _, v in result.verdicts]
    assert [v.outcome for v in verdicts] == [Outcome.applied] + [Outcome.rejected] * len(bad)
    reasons = [v.reason for v in verdicts[1:]]
    assert "unknown location 'NOWHERE'" in reasons[0]
    assert reasons[1] == "quantity: a receive carries a positive quantity"
    assert reasons[2] == "quantity: a count cannot be negative"
    assert reasons[3].startswith("quantity:")
    assert reasons[4].startswith("type:")
    assert reasons[5].startswith("quantity:")
    assert reasons[6] == "occurred_at: lies in the future"
    assert reasons[7].startswith("occurred_at:")
    assert reasons[8].startswith("unexpected:")
    assert reasons[9] == "an event must be an object"
    assert ledger.position(STORE.id, s).on_hand == 3
    assert ledger.position("NOWHERE", s) is None


def test_a_batch_over_the_limit_is_refused_whole(ledger):
    s = sku()
    with pytest.raises(BatchTooLarge, match=str(MAX_BATCH_EVENTS)):
        ledger.ingest([ev(STORE.id, s, "receive", 1) for _ in range(MAX_BATCH_EVENTS + 1)])
    assert ledger.position(STORE.id, s) is None


def test_arrival_order_does_not_change_the_position(ledger):
    a, b = sku(), sku()
    history = lambda s: [  # noqa: E731
        ev(STORE.id, s, "count", 20, 10, eid=f"{s}-c1"),
        ev(STORE.id, s, "sale", 2, 5, eid=f"{s}-s0"),
        ev(STORE.id, s, "sale", 3, 12, eid=f"{s}-s1"),
        ev(STORE.id, s, "count", 14, 15, eid=f"{s}-c2"),
        ev(STORE.id, s, "receive", 6, 16, eid=f"{s}-r1"),
        ev(STORE.id, s, "adjust", -1, 17, eid=f"{s}-a1"),
    ]
    for item in history(a):
        ledger.ingest([item])
    for item in reversed(history(b)):
        ledger.ingest([item])
    assert ledger.position(STORE.id, a).on_hand == ledger.position(STORE.id, b).on_hand == 19


def test_the_same_batch_sent_by_four_writers_at_once_counts_once(ledger):
    s = sku()
    batch = [ev(STORE.id, s, "receive", 2, i) for i in range(50)]
    start = threading.Barrier(4)

    def send(_: int) -> list[str]:
        start.wait()
        return outcomes(ledger.ingest(batch))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(send, range(4)))
    assert sorted(r.count("applied") for r in results) == [0, 0, 0, 50]
    assert all(set(r) <= {"applied", "duplicate"} for r in results)
    assert ledger.position(STORE.id, s).on_hand == 100


def test_a_batch_across_a_thousand_positions_moves_each_of_them(ledger):
    skus = [sku() for _ in range(1000)]
    ledger.ingest([ev(STORE.id, s, "count", 10, 1) for s in skus])
    result = ledger.ingest([ev(STORE.id, s, "sale", 1 + i % 3, 2) for i, s in enumerate(skus)])
    assert outcomes(result) == ["applied"] * 1000
    assert [ledger.position(STORE.id, s).on_hand for s in skus[:5]] == [9, 8, 7, 9, 8]
    assert ledger.position(STORE.id, skus[-1]).on_hand == 10 - (1 + 999 % 3)


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
    real_retryable = ledger_module._retryable

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
        failures.append(str(error).splitlines()[0])
        return real_retryable(error)

    with (
        ThreadPoolExecutor(2) as pool,
        patch.object(bulk, "read_positions", read_then_w_moves),
        patch.object(bulk, "update_positions", write_then_b_starts),
        patch.object(ledger_module, "_retryable", retryable),
        patch.object(sql_transaction, "_retryable", retryable),
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
