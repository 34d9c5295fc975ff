"""The hold writer: what it grants from its recent view of the projection, and how it carries on
after being closed, after a fault of its own and after losing its connection."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from inventory.availability.policy import AvailabilityPolicy
from inventory.holds.recent_view import RecentView
from inventory.holds.service import Reservations
from inventory.sql import transaction as sql_transaction
from tests.inventory.helpers import NETWORK, STORE, WAREHOUSE, ev, sku
from tests.inventory.holding import assert_never_oversold, available, hold


@pytest.fixture
def remembering(backend):
    """A group-commit desk whose recent view of the projection never goes stale by itself."""
    backend.ledger.upsert_locations(NETWORK)
    reservations = Reservations(backend.ledger, backend.reader, view_ttl_s=3600)
    yield reservations
    reservations.close()


def test_nobody_is_refused_on_the_writers_recent_view(remembering, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])
    assert remembering.hold(hold((s, 2))).status == "held"  # the view now shows none free
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "receive", 3, minutes=1)])
    outcome = remembering.hold(hold((s, 3)))
    assert outcome.status == "held", outcome.reason
    assert remembering.hold(hold((s, 1))).status == "refused"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 5
    assert_never_oversold(backend)


def test_units_another_desk_took_are_not_granted_again_from_the_recent_view(remembering, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    assert remembering.hold(hold((s, 1))).status == "held"  # the view shows 4 free
    other = Reservations(backend.ledger, backend.reader)  # another process, say
    try:
        assert other.hold(hold((s, 4))).status == "held"
    finally:
        other.close()
    outcome = remembering.hold(hold((s, 2)))
    assert outcome.status == "refused"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 5
    assert available(backend, s) == 0
    assert_never_oversold(backend)


def test_a_hold_sql_refuses_on_the_recent_views_plan_is_planned_again_on_a_fresh_read(
    remembering, backend
):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    assert remembering.hold(hold((s, 1))).status == "held"  # the view: 4 free, all at WAREHOUSE
    other = Reservations(backend.ledger, backend.reader)
    try:
        assert other.hold(hold((s, 3))).status == "held"  # 1 left at WAREHOUSE
    finally:
        other.close()
    backend.ledger.ingest([ev(STORE.id, s, "count", 5)])  # where the view does not look
    outcome = remembering.hold(hold((s, 3)))
    assert outcome.status == "held", outcome.reason
    assert sum(t.quantity for t in outcome.takes) == 3
    assert_never_oversold(backend)


def test_after_a_network_change_the_writer_reads_again_instead_of_reusing_its_view(
    remembering, backend, monkeypatch
):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 50)])
    assert remembering.hold(hold((s, 1))).status == "held"  # remembered under this network
    backend.ledger.set_policy(AvailabilityPolicy(ship_from_store=False))  # a new network version
    assert available(backend, s) == 49  # the shared reader now holds the new version
    reads: list[int] = []
    network = backend.projection.network
    monkeypatch.setattr(backend.projection, "network", lambda: reads.append(1) or network())
    for _ in range(5):
        assert remembering.hold(hold((s, 1))).status == "held"
    assert reads == []  # the old view would have sent the reader back for the network each time
    assert_never_oversold(backend)


def stocked_desk(backend, units: int) -> tuple[Reservations, str]:
    """A group-commit desk and a SKU with `units` at the warehouse."""
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", units)])
    return Reservations(backend.ledger, backend.reader), s


def test_a_closed_desk_starts_again_on_the_next_hold(backend):
    desk, s = stocked_desk(backend, 10)
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: desk.hold(hold((s, 1))).status, range(8)))
    desk.close()
    assert statuses == ["held"] * 8
    assert desk.hold(hold((s, 2))).status == "held"
    desk.close()
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 10
    assert_never_oversold(backend)


def test_a_hold_racing_close_is_answered(backend):
    desk, s = stocked_desk(backend, 1000)
    try:
        for _ in range(30):
            desk.hold(hold((s, 1)))  # a writer is running
            start = threading.Barrier(2)
            answers: list[str] = []

            def holding(start: threading.Barrier = start, answers: list = answers) -> None:
                start.wait()
                answers.append(desk.hold(hold((s, 1))).status)

            def closing(start: threading.Barrier = start) -> None:
                start.wait()
                desk.close()

            racers = [threading.Thread(target=f, daemon=True) for f in (holding, closing)]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join(timeout=30)
            assert not any(racer.is_alive() for racer in racers), "a hold was never answered"
            assert answers == ["held"]
    finally:
        desk.close()
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 60
    assert_never_oversold(backend)


def test_a_fault_inside_the_writer_fails_its_group_and_the_next_hold_is_decided(
    backend, monkeypatch
):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    desk = Reservations(backend.ledger, backend.reader)

    def broken(self, changed) -> None:
        raise RuntimeError("a bug in the writer")

    try:
        monkeypatch.setattr(RecentView, "lay_over", broken)
        with (
            ThreadPoolExecutor(1) as pool,
            pytest.raises(RuntimeError, match="a bug in the writer"),
        ):
            pool.submit(desk.hold, hold((s, 1))).result(timeout=30)
        monkeypatch.undo()
        assert available(backend, s) == 4  # what was committed before the fault is projected
        assert desk.hold(hold((s, 2))).status == "held"
    finally:
        desk.close()
    assert_never_oversold(backend)


@pytest.mark.server
def test_the_writer_reconnects_when_the_server_ends_its_connection(backend):
    if backend.name != "server":
        pytest.skip("PostgreSQL only: a server that ends the writer's kept connection")
    backend.ledger.upsert_locations(NETWORK)
    desk = Reservations(backend.ledger, backend.reader)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    try:
        assert desk.hold(hold((s, 1))).status == "held"  # the writer keeps its connection now
        with backend.ledger.engine.connect() as conn:
            ended = conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (sql_transaction.WRITER_APPLICATION_NAME,),
            ).fetchall()
        assert ended and all(row[0] for row in ended)
        assert desk.hold(hold((s, 2))).status == "held"
    finally:
        desk.close()
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    assert_never_oversold(backend)
