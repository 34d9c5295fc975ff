"""A group of planned holds decided in SQL: replays answered, new holds granted, and what is gone
refused on SQL's own figures, whatever the projection proposed."""

from __future__ import annotations

from inventory.availability.policy import AvailabilityPolicy, ChannelFence
from inventory.availability.sources import Query
from inventory.holds.decide import decide
from inventory.holds.dialects import dialect_of
from inventory.holds.outcome import Changes
from inventory.holds.plan import Plan, Terms
from inventory.holds.request import HoldRequest
from inventory.sql import transaction as sql_transaction
from tests.inventory.helpers import NETWORK, STORE, T0, WAREHOUSE, ev, sku
from tests.inventory.holding import assert_never_oversold, hold, showing


def decide_at_warehouse(
    backend, requests: list[HoldRequest], proposed: dict | None = None
) -> tuple[list, Changes]:
    """One group straight to SQL, every line planned at the warehouse."""
    engine, changes = backend.ledger.engine, Changes()
    plans = [(request, Plan([[WAREHOUSE.id]] * len(request.lines))) for request in requests]
    outcomes = sql_transaction.driver_transaction(
        engine,
        lambda conn: decide(conn, dialect_of(engine), plans, 1_000_000, changes, proposed),
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
    stale = showing({(WAREHOUSE.id, s): 100})
    [first, second], changes = decide_at_warehouse(backend, [hold((s, 3)), hold((s, 3))], stale)
    assert (first.status, second.status) == ("held", "refused")
    assert changes.positions[(WAREHOUSE.id, s)].reserved == 3
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    assert_never_oversold(backend)


def test_a_replay_proposed_as_new_answers_its_first_result_and_takes_nothing(backend):
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    ample = showing({(WAREHOUSE.id, s): 5})
    first = hold((s, 2))
    [granted], _ = decide_at_warehouse(backend, [first], ample)
    [replayed, other], _ = decide_at_warehouse(backend, [first, hold((s, 1))], ample)
    assert (replayed.status, replayed.replayed, replayed.takes) == ("held", True, granted.takes)
    assert other.status == "held"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 3
    assert_never_oversold(backend)


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
            conn, dialect_of(engine), plans, 1_000_000, changes, showing({(WAREHOUSE.id, s): 100})
        ),
    )
    assert outcome.status == "refused"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 0


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
    shown = showing({(WAREHOUSE.id, s): 5, (STORE.id, s): 5})
    engine, changes = backend.ledger.engine, Changes()
    [outcome] = sql_transaction.driver_transaction(
        engine,
        lambda conn: decide(
            conn, dialect_of(engine), [(hold((s, 5)), plan)], 1_000_000, changes, shown
        ),
    )
    assert outcome.status == "refused"
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 0
