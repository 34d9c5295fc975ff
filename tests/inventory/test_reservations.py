"""Holds: all or nothing, never oversold, each closed exactly once, expiring by themselves."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from inventory.availability.policy import AvailabilityPolicy, ChannelFence
from inventory.availability.sources import Query
from inventory.holds.decide import decide
from inventory.holds.dialects import dialect_of
from inventory.holds.expiry import ExpirySweeper
from inventory.holds.outcome import Changes, ReservationConflict
from inventory.holds.plan import Plan, Terms
from inventory.holds.recent_view import RecentView
from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from inventory.sql import transaction as sql_transaction
from tests.inventory.helpers import NETWORK, STORE, T0, VENDOR, WAREHOUSE, ev, sku
from tests.inventory.holding import all_at_once, assert_never_oversold, available, hold


def test_a_hold_takes_every_line_or_none(desk, backend):
    a, b = sku(), sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, a, "count", 5), ev(WAREHOUSE.id, b, "count", 1)])
    refused = desk.hold(hold((a, 2), (b, 2)))
    assert refused.status == "refused"
    assert (available(backend, a), available(backend, b)) == (5, 1)
    held = desk.hold(hold((a, 2), (b, 1)))
    assert held.status == "held"
    assert (available(backend, a), available(backend, b)) == (3, 0)
    assert_never_oversold(backend)


def test_a_hold_is_split_across_locations_when_no_single_one_has_enough(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2), ev(STORE.id, s, "count", 2)])
    outcome = desk.hold(hold((s, 3)))
    assert outcome.status == "held"
    assert sorted((t.location, t.quantity) for t in outcome.takes) == [
        (WAREHOUSE.id, 2),
        (STORE.id, 1),
    ] or sorted((t.location, t.quantity) for t in outcome.takes) == [
        (STORE.id, 2),
        (WAREHOUSE.id, 1),
    ]
    assert available(backend, s) == 1


def test_concurrent_holds_for_the_last_unit_get_exactly_one_success(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(STORE.id, s, "count", 1)])
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        return desk.hold(hold((s, 1))).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert statuses.count("held") == 1
    assert statuses.count("refused") == 7
    assert backend.ledger.position(STORE.id, s).reserved == 1
    assert_never_oversold(backend)


def test_many_concurrent_holds_never_oversell_a_hot_sku(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 50), ev(STORE.id, s, "count", 7)])

    def attempt(i: int) -> int:
        outcome = desk.hold(hold((s, 1 + i % 3)))
        return sum(t.quantity for t in outcome.takes) if outcome.status == "held" else 0

    with ThreadPoolExecutor(8) as pool:
        taken = sum(pool.map(attempt, range(80)))
    assert taken <= 57
    assert available(backend, s) == 57 - taken
    while desk.hold(hold((s, 1))).status == "held":  # the last units go one by one
        taken += 1
    assert taken == 57
    assert available(backend, s) == 0
    assert_never_oversold(backend)


def test_replaying_a_hold_returns_the_first_result_and_changes_nothing(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    request = hold((s, 2))
    first = desk.hold(request)
    again = desk.hold(request)
    assert (again.status, again.takes, again.replayed) == ("held", first.takes, True)
    assert available(backend, s) == 3
    with pytest.raises(ReservationConflict):
        desk.hold(hold((s, 1), rid=request.id))


def test_replaying_a_hold_that_took_the_last_units_returns_its_grant_not_a_refusal(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])
    request = hold((s, 2))
    first = desk.hold(request)
    assert available(backend, s) == 0  # the projection now says no to the same request
    again = desk.hold(request)
    assert (again.status, again.takes, again.replayed) == ("held", first.takes, True)
    assert desk.hold(hold((s, 1))).status == "refused"
    with pytest.raises(ReservationConflict):
        desk.hold(hold((s, 3), rid=request.id))


def test_a_hold_is_released_exactly_once(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    outcome = desk.hold(hold((s, 2)))
    assert desk.release(outcome.id) == "released"
    assert desk.release(outcome.id) == "released"
    assert available(backend, s) == 5
    assert_never_oversold(backend)


def test_a_consumed_hold_keeps_its_units_for_the_order_and_cannot_be_released(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    outcome = desk.hold(hold((s, 2)))
    assert desk.consume(outcome.id, "O-1") == "consumed"
    assert desk.release(outcome.id) == "consumed"
    assert available(backend, s) == 3
    assert_never_oversold(backend)


def test_a_pickup_hold_takes_the_store_shelf_first_then_stock_transferable_to_it(desk, backend):
    s = sku()
    backend.ledger.ingest(
        [
            ev(WAREHOUSE.id, s, "count", 5),  # transfers to stores in 2 days
            ev(STORE.id, s, "count", 1),
            ev(VENDOR.id, s, "count", 50),  # ships parcels, never transfers to a store
        ]
    )
    pickup = {"method": "pickup", "store": STORE.id}
    shown = backend.reader.check([s], Query(method="pickup", store=STORE.id))[0]
    assert (shown.available, shown.shelf, shown.transferable) == (6, 1, 5)
    assert desk.hold(hold((s, 7), **pickup)).status == "refused"
    outcome = desk.hold(hold((s, 2), **pickup))
    assert {(t.location, t.quantity) for t in outcome.takes} == {(STORE.id, 1), (WAREHOUSE.id, 1)}
    assert desk.hold(hold((s, 4), **pickup)).status == "held"
    assert desk.hold(hold((s, 1), **pickup)).status == "refused"
    assert_never_oversold(backend)


def test_a_pickup_hold_keeps_the_shelf_out_of_the_network_threshold(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(AvailabilityPolicy(network_threshold_units=3))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2), ev(STORE.id, s, "count", 2)])
    pickup = {"method": "pickup", "store": STORE.id}
    shown = backend.reader.check([s], Query(method="pickup", store=STORE.id))[0]
    assert (shown.available, shown.held_back) == (2, 2)  # the shelf, none of the transfer
    assert desk.hold(hold((s, 3), **pickup)).status == "refused"
    assert desk.hold(hold((s, 2), **pickup)).status == "held"
    assert desk.hold(hold((s, 1), **pickup)).status == "refused"
    assert_never_oversold(backend)


def test_expired_holds_go_back_to_availability_exactly_once(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    now = T0 + timedelta(hours=1)
    backend.ledger.clock = lambda: now
    desk.hold(hold((s, 2), ttl_s=60))
    desk.hold(hold((s, 1)))
    assert desk.expire_due() == 0
    now = T0 + timedelta(hours=1, minutes=2)
    assert desk.expire_due() == 1
    assert desk.expire_due() == 0
    assert available(backend, s) == 4
    assert_never_oversold(backend)


def test_expired_holds_are_released_without_anyone_calling(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    desk.hold(hold((s, 3), ttl_s=1))
    assert available(backend, s) == 0
    sweeper = ExpirySweeper(desk.expire_due, interval_s=0.2).start()
    try:
        deadline = time.monotonic() + 10
        while available(backend, s) != 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sweeper.stop()
    assert available(backend, s) == 3


def test_bad_hold_requests_are_refused_before_anything_changes():
    with pytest.raises(ValueError, match="greater than 0"):
        HoldRequest(id="x", lines=[HoldLine(sku="S", quantity=0)])
    with pytest.raises(ValueError, match="at least 1 item"):
        HoldRequest(id="x", lines=[])
    with pytest.raises(ValueError, match="names its store"):
        HoldRequest(id="x", lines=[HoldLine(sku="S", quantity=1)], method="pickup")
    with pytest.raises(ValueError, match="Extra inputs"):
        HoldRequest.model_validate({"id": "x", "lines": [{"sku": "S", "quantity": 1}], "price": 3})


def decide_at_warehouse(
    backend, requests: list[HoldRequest], proposed: dict | None = None
) -> tuple[list, Changes]:
    """One group straight to SQL, every line planned at the warehouse."""
    engine, changes = backend.ledger.engine, Changes()
    plans = [(request, Plan([[WAREHOUSE.id]] * len(request.lines))) for request in requests]
    outcomes = sql_transaction.driver_transaction(
        engine,
        lambda conn: decide(
            conn, dialect_of(engine), plans, 1_000_000, changes, proposed
        ),
    )
    return outcomes, changes


def test_one_group_answers_replays_grants_new_holds_and_refuses_what_is_gone(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    first = hold((s, 2))
    decide_at_warehouse(backend, [first])
    [replayed, granted, refused], changes = decide_at_warehouse(
        backend, [first, hold((s, 1)), hold((s, 1))]
    )
    assert (replayed.status, replayed.replayed) == ("held", True)
    assert (granted.status, refused.status) == ("held", "refused")
    assert changes.positions[(WAREHOUSE.id, s)].reserved == 3
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    assert_never_oversold(backend)


def test_a_projection_showing_more_than_sql_has_costs_time_never_stock(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    stale = {(WAREHOUSE.id, s): 100}
    [first, second], changes = decide_at_warehouse(backend, [hold((s, 3)), hold((s, 3))], stale)
    assert (first.status, second.status) == ("held", "refused")
    assert changes.positions[(WAREHOUSE.id, s)].reserved == 3
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    assert_never_oversold(backend)


def test_a_replay_proposed_as_new_answers_its_first_result_and_takes_nothing(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    ample = {(WAREHOUSE.id, s): 5}
    first = hold((s, 2))
    [granted], _ = decide_at_warehouse(backend, [first], ample)
    [replayed, other], _ = decide_at_warehouse(backend, [first, hold((s, 1))], ample)
    assert (replayed.status, replayed.replayed, replayed.takes) == ("held", True, granted.takes)
    assert other.status == "held"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    assert_never_oversold(backend)


def test_a_hold_contradicting_its_record_fails_alone_in_its_group(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 20)])
    first = desk.hold(hold((s, 1)))
    requests = [hold((s, 2), rid=first.id)] + [hold((s, 1)) for _ in range(7)]

    def attempt(request: HoldRequest) -> str:
        try:
            return desk.hold(request).status
        except ReservationConflict:
            return "conflict"

    statuses = all_at_once(attempt, requests)
    assert statuses == ["conflict"] + ["held"] * 7
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 8
    assert_never_oversold(backend)


def test_a_hold_committed_while_the_projection_is_down_replays_once_it_is_back(
    desk, backend, monkeypatch
):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    request = hold((s, 2))
    projection = backend.ledger.projection

    def down(_positions) -> None:
        raise ConnectionError("projection unreachable")

    monkeypatch.setattr(projection, "put", down)
    with pytest.raises(ConnectionError):
        desk.hold(request)
    monkeypatch.undo()
    assert available(backend, s) == 5  # committed, but the projection never heard of it
    again = desk.hold(request)
    assert (again.status, again.replayed) == ("held", True)
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 2
    assert available(backend, s) == 3  # the replay projected what the first attempt held
    assert_never_oversold(backend)


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


def test_on_a_sold_out_sku_a_replay_among_refusals_gets_its_grant(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])
    granted = desk.hold(hold((s, 2)))
    requests = [hold((s, 2), rid=granted.id)] + [hold((s, 1)) for _ in range(7)]

    def attempt(request: HoldRequest) -> tuple[str, bool]:
        outcome = desk.hold(request)
        return outcome.status, outcome.replayed

    answers = all_at_once(attempt, requests)
    assert answers == [("held", True)] + [("refused", False)] * 7
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 2
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


def test_the_errors_a_transaction_is_tried_again_for():
    import sqlite3

    import psycopg
    import sqlalchemy.exc

    assert sql_transaction.retryable(psycopg.errors.AdminShutdown("terminated by administrator"))
    assert sql_transaction.retryable(psycopg.errors.SerializationFailure("concurrent update"))
    assert sql_transaction.retryable(psycopg.OperationalError("server closed the connection"))
    assert sql_transaction.retryable(sqlite3.OperationalError("database is locked"))
    assert sql_transaction.retryable(psycopg.errors.UniqueViolation("duplicate key"))  # raced
    assert not sql_transaction.retryable(psycopg.errors.CheckViolation("reserved <= on_hand"))
    assert not sql_transaction.retryable(psycopg.errors.UndefinedTable("no such table"))
    assert not sql_transaction.retryable(sqlite3.OperationalError("no such table: position"))
    wrapped = sqlalchemy.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    assert sql_transaction.retryable(wrapped)  # SQLAlchemy's wrapper is looked through
    raced = sqlalchemy.exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("dup"))
    assert sql_transaction.retryable(raced)


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


# -- holds on availability's terms: never more than availability shows the hold's channel --------


@pytest.fixture
def at_t0(backend):
    """Clocks an hour after the test events, so the vendor's feed is fresh."""
    backend.ledger.clock = backend.reader.clock = lambda: T0 + timedelta(hours=1)


def test_a_hold_never_takes_the_stock_another_channel_keeps(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(
        AvailabilityPolicy(
            fences=[ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=4)]
        )
    )
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert available(backend, s) == 6
    assert desk.hold(hold((s, 7))).status == "refused"
    assert desk.hold(hold((s, 6))).status == "held"
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"
    assert desk.hold(hold((s, 4), channel="marketplace")).status == "held"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 10
    assert_never_oversold(backend)


def test_a_hold_takes_what_a_share_fence_leaves_and_not_one_unit_more(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(
        AvailabilityPolicy(fences=[ChannelFence(channel="b2b", location=WAREHOUSE.id, share=0.5)])
    )
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 9)])
    shown = []
    while (units := available(backend, s)) > 0:  # b2b keeps half of what is free, rounded down
        shown.append(units)
        assert desk.hold(hold((s, units + 1))).status == "refused"
        assert desk.hold(hold((s, units))).status == "held"
    assert shown == [5, 2, 1, 1]
    assert_never_oversold(backend)


def test_a_hold_never_dips_into_the_network_threshold(desk, backend, at_t0):
    s = sku()
    backend.ledger.set_policy(AvailabilityPolicy(network_threshold_units=2))
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2), ev(STORE.id, s, "count", 1)])
    assert available(backend, s) == 1
    assert desk.hold(hold((s, 2))).status == "refused"
    granted = desk.hold(hold((s, 1)))
    assert [(t.location, t.quantity) for t in granted.takes] == [(WAREHOUSE.id, 1)]
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"

    def pinned(location: str, units: int) -> HoldRequest:
        line = HoldLine(sku=s, quantity=units, location=location)
        return HoldRequest(id=uuid.uuid4().hex, lines=[line])

    # a line pinned to its location (an order's allocation) takes what that location offers:
    # the threshold is for the engine's own picks
    assert desk.hold(pinned(WAREHOUSE.id, 2)).status == "refused"
    assert desk.hold(pinned(STORE.id, 1)).status == "held"
    assert_never_oversold(backend)


def test_a_vendor_gives_what_its_confidence_trusts_and_nothing_once_its_feed_is_stale(
    desk, backend, at_t0
):
    s = sku()
    backend.ledger.ingest([ev(VENDOR.id, s, "count", 10)])
    assert available(backend, s) == 8  # 80 % of the vendor's file
    assert desk.hold(hold((s, 9))).status == "refused"
    assert desk.hold(hold((s, 4))).status == "held"
    backend.ledger.clock = backend.reader.clock = lambda: T0 + timedelta(hours=49)
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"
    assert_never_oversold(backend)


def test_an_inactive_location_gives_nothing_to_a_hold(desk, backend, at_t0):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    backend.ledger.upsert_locations([dataclasses.replace(WAREHOUSE, active=False)])
    assert available(backend, s) == 0
    assert desk.hold(hold((s, 1))).status == "refused"


def test_sql_holds_a_proposal_to_the_fence_when_the_projection_shows_more(backend, at_t0):
    """The projection showed 100 free units, SQL has 10 of which a fence keeps 4: the proposal
    of 7 must not pass on SQL's free units alone."""
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.set_policy(
        AvailabilityPolicy(
            fences=[ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=4)]
        )
    )
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    view = backend.reader.view_for(backend.reader.known_version)
    terms = Terms(backend.reader.sources(view, Query()), view.policy, int(T0.timestamp()))
    plans = [(hold((s, 7)), Plan([[WAREHOUSE.id]], [0], terms))]
    engine, changes = backend.ledger.engine, Changes()
    [outcome] = sql_transaction.driver_transaction(
        engine,
        lambda conn: decide(
            conn, dialect_of(engine), plans, 1_000_000, changes, {(WAREHOUSE.id, s): 100}
        ),
    )
    assert outcome.status == "refused"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 0


def test_a_pickup_hold_names_what_is_wrong_with_its_store(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    outcome = desk.hold(hold((s, 1), method="pickup", store=WAREHOUSE.id))
    assert (outcome.status, outcome.reason) == (
        "refused",
        f"{WAREHOUSE.id!r} is not a pickup point",
    )


def test_holds_arriving_together_never_dip_into_the_network_threshold(backend, at_t0):
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.set_policy(AvailabilityPolicy(network_threshold_units=2))
    desk = Reservations(backend.ledger, backend.reader, group_commit=True)
    try:
        for _ in range(3):
            s = sku()
            backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
            assert available(backend, s) == 3
            outcomes = all_at_once(desk.hold, [hold((s, 1)) for _ in range(8)])
            assert sum(outcome.status == "held" for outcome in outcomes) == 3
            assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    finally:
        desk.close()


def test_sources_read_for_a_superseded_network_are_not_served_for_the_new_one(backend):
    backend.ledger.upsert_locations(NETWORK)
    reader = backend.reader
    old = reader.view_for(reader.known_version)
    fence = ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=10)
    backend.ledger.set_policy(AvailabilityPolicy(fences=[fence]))
    new = reader.view_for(backend.projection.network()[1])
    assert new.version != old.version
    reader.sources(old, Query())  # a caller still on the old view, after the cache was cleared
    assert reader.sources(new, Query()).by_location[WAREHOUSE.id].fences == (fence,)


def test_sql_judges_the_threshold_on_its_own_figures_when_the_projection_shows_more(backend, at_t0):
    """Threshold 2; SQL: the warehouse has 5, the store none; the projection still shows the
    store's 5. Availability on SQL's figures is 3: a hold of 5 must be refused."""
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.set_policy(AvailabilityPolicy(network_threshold_units=2))
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5), ev(STORE.id, s, "count", 0)])
    view = backend.reader.view_for(backend.reader.known_version)
    terms = Terms(backend.reader.sources(view, Query()), view.policy, int(T0.timestamp()))
    plan = Plan([[WAREHOUSE.id, STORE.id]], [2], terms)
    shown = {(WAREHOUSE.id, s): 5, (STORE.id, s): 5}
    engine, changes = backend.ledger.engine, Changes()
    [outcome] = sql_transaction.driver_transaction(
        engine,
        lambda conn: decide(
            conn, dialect_of(engine), [(hold((s, 5)), plan)], 1_000_000, changes, shown
        ),
    )
    assert outcome.status == "refused"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 0
