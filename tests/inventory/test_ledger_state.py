"""What the ledger's state must be, not only what it answers: safety stock by rule, locations,
bad events that change nothing, a rebuild over a rich state, and reads that never reach SQL.
Every test runs on the embedded default and on PostgreSQL + Redis (the `backend` fixture)."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
from inventory.availability.reader import AvailabilityReader
from inventory.availability.sources import Query
from inventory.domain.model import Capability, Location, LocationType
from inventory.holds.decide import decide
from inventory.holds.dialects import dialect_of
from inventory.holds.outcome import Changes
from inventory.holds.plan import Plan
from inventory.holds.request import HoldRequest
from inventory.projection.rebuild import rebuild
from inventory.sql import transaction as sql_transaction
from inventory.sql.schema import PositionRow, StockEventRow
from inventory.stock.feed import MAX_BATCH_EVENTS, BatchTooLarge
from inventory.stock.inbound import InboundIn, record
from inventory.stock.safety import SafetyRule
from tests.inventory.helpers import NETWORK, STORE, STORE_NO_SHIP, T0, VENDOR, WAREHOUSE, ev, sku
from tests.inventory.holding import available, hold

POS = PositionRow.__table__
EVENTS = StockEventRow.__table__


@pytest.fixture
def ledger(backend):
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.clock = backend.reader.clock = lambda: T0 + timedelta(hours=1)
    return backend.ledger


def outcomes(result) -> list[str]:
    return [v.outcome.value for _, v in result.verdicts]


def safety_at(backend, s: str, locations: list[Location]) -> dict[str, int]:
    """Each location's safety stock for `s`, in SQL and as the projection holds it."""
    in_sql = {loc.id: backend.ledger.position(loc.id, s).safety for loc in locations}
    projected = backend.projection.read([s])[s]
    assert {loc.id: projected[loc.id].safety for loc in locations} == in_sql
    return in_sql


# -- 1. safety stock by rule ------------------------------------------------------------------

PRECEDENCE_RULES = [
    SafetyRule(1, location_type="store"),
    SafetyRule(2, location=STORE.id),
]


@pytest.mark.parametrize("rules_first", [False, True], ids=["rules-after-stock", "rules-first"])
def test_the_most_specific_safety_rule_wins_location_sku_then_sku_then_location_then_type(
    ledger, backend, rules_first
):
    a, b = sku(), sku()
    rules = [*PRECEDENCE_RULES, SafetyRule(3, sku=a), SafetyRule(4, location=STORE.id, sku=a)]
    shelves = [WAREHOUSE, STORE, STORE_NO_SHIP]
    if rules_first:  # the positions are created afterwards by a feed
        ledger.set_safety_rules(rules)
    ledger.ingest([ev(loc.id, s, "count", 10) for s in (a, b) for loc in shelves])
    if not rules_first:  # the positions exist when the rules change
        assert ledger.set_safety_rules(rules) == 5

    assert safety_at(backend, a, shelves) == {
        STORE.id: 4,  # location+sku over all
        WAREHOUSE.id: 3,  # sku, where no location+sku rule applies
        STORE_NO_SHIP.id: 3,  # sku over location type
    }
    assert safety_at(backend, b, shelves) == {
        STORE.id: 2,  # location over location type
        STORE_NO_SHIP.id: 1,  # location type alone
        WAREHOUSE.id: 0,  # no rule
    }
    # ship: the warehouse and the store that ships; pickup at ST-NICE: its shelf + transfers
    assert [a_.available for a_ in backend.reader.check([a, b])] == [7 + 6, 10 + 8]
    nice = Query(method="pickup", store=STORE_NO_SHIP.id)
    got = [(x.shelf, x.transferable) for x in backend.reader.check([a, b], nice)]
    assert got == [(7, 7), (9, 10)]


def test_replacing_the_safety_rules_moves_every_existing_buffer_to_the_new_winner(ledger, backend):
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 10), ev(WAREHOUSE.id, s, "count", 10)])
    ledger.set_safety_rules([*PRECEDENCE_RULES, SafetyRule(4, location=STORE.id, sku=s)])
    assert safety_at(backend, s, [STORE, WAREHOUSE]) == {STORE.id: 4, WAREHOUSE.id: 0}
    ledger.set_safety_rules([SafetyRule(1, location_type="store")])
    assert safety_at(backend, s, [STORE, WAREHOUSE]) == {STORE.id: 1, WAREHOUSE.id: 0}
    assert available(backend, s) == 9 + 10
    ledger.set_safety_rules([])
    assert safety_at(backend, s, [STORE, WAREHOUSE]) == {STORE.id: 0, WAREHOUSE.id: 0}
    assert available(backend, s) == 20


def test_a_per_location_rule_alone_buffers_that_location_only(ledger, backend):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 5), ev(STORE.id, s, "count", 5)])
    ledger.set_safety_rules([SafetyRule(2, location=WAREHOUSE.id)])
    ledger.ingest([ev(STORE_NO_SHIP.id, s, "count", 5)])  # created after: no rule of its own
    assert safety_at(backend, s, [WAREHOUSE, STORE, STORE_NO_SHIP]) == {
        WAREHOUSE.id: 2,
        STORE.id: 0,
        STORE_NO_SHIP.id: 0,
    }
    answer = backend.reader.explain(s)
    assert answer.available == 3 + 5
    assert {c.location: c.counted for c in answer.contributions if not c.excluded} == {
        WAREHOUSE.id: 3,
        STORE.id: 5,
    }


def test_a_hold_never_takes_safety_stock(desk, ledger, backend):
    s = sku()
    ledger.set_safety_rules([SafetyRule(2, location=WAREHOUSE.id, sku=s)])
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    assert available(backend, s) == 3

    assert desk.hold(hold((s, 4))).status == "refused"
    assert ledger.position(WAREHOUSE.id, s).reserved == 0
    granted = desk.hold(hold((s, 3)))
    assert granted.status == "held"
    assert [(t.location, t.quantity) for t in granted.takes] == [(WAREHOUSE.id, 3)]
    assert desk.hold(hold((s, 1))).status == "refused"
    assert desk.hold(hold((s, 1), location=WAREHOUSE.id)).status == "refused"

    position = ledger.position(WAREHOUSE.id, s)
    assert (position.on_hand, position.reserved, position.safety) == (5, 3, 2)
    assert position.reserved <= position.on_hand - position.safety
    assert backend.projection.read([s])[s][WAREHOUSE.id].reserved == 3
    assert available(backend, s) == 0


@pytest.mark.parametrize("proposed", [5, None], ids=["projection-claims-5-free", "locked"])
def test_sql_refuses_a_hold_into_safety_stock_whatever_the_projection_claims(
    ledger, backend, proposed
):
    """The decision in SQL, with the projection's pre-check out of the way: a projection that
    shows the whole shelf free must not let a hold take the buffer."""
    s = sku()
    ledger.set_safety_rules([SafetyRule(2, location=WAREHOUSE.id)])
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    engine = ledger.engine
    claims = None if proposed is None else {(WAREHOUSE.id, s): proposed}

    def status_of(request: HoldRequest) -> str:
        plans = [(request, Plan([[WAREHOUSE.id]]))]
        work = lambda conn: decide(  # noqa: E731
            conn, dialect_of(engine), plans, 1_000_000, Changes(), claims
        )
        return sql_transaction.driver_transaction(engine, work)[0].status

    assert status_of(hold((s, 4))) == "refused"
    assert status_of(hold((s, 3))) == "held"
    assert status_of(hold((s, 1))) == "refused"
    position = ledger.position(WAREHOUSE.id, s)
    assert (position.reserved, position.safety) == (3, 2)
    assert position.reserved <= position.on_hand - position.safety


# -- 2. locations -----------------------------------------------------------------------------

EVERY_FIELD = Location(
    "VD-SYD.2/a:b",
    LocationType.dropship,
    -33.8688,
    151.2093,
    frozenset(Capability),
    capacity_per_day=123,
    lead_time_hours=7.5,
    transfer_days=0.25,
    active=False,
    region="APAC-south",
)


def test_every_field_of_a_location_round_trips_through_upsert_and_list(backend):
    defaults = Location("ST-DEFAULTS", LocationType.store, 0.0, 0.0)
    written = [EVERY_FIELD, defaults, *NETWORK]
    assert backend.ledger.upsert_locations(written) == len(written)
    listed = backend.ledger.locations()
    assert listed == sorted(written, key=lambda loc: loc.id)
    version = backend.projection.network()[1]
    assert backend.reader.view_for(version).locations == {loc.id: loc for loc in written}


def test_upserting_a_known_location_updates_it_and_keeps_its_slot(backend):
    backend.ledger.upsert_locations(NETWORK)
    slot = backend.ledger.slots()[STORE.id]
    version = backend.projection.network()[1]
    moved = dataclasses.replace(EVERY_FIELD, id=STORE.id, type=LocationType.warehouse, active=True)
    assert backend.ledger.upsert_locations([moved]) == 1
    listed = {loc.id: loc for loc in backend.ledger.locations()}
    assert len(listed) == len(NETWORK)
    assert listed[STORE.id] == moved
    assert backend.ledger.slots()[STORE.id] == slot
    new_version = backend.projection.network()[1]
    assert new_version != version
    assert backend.reader.view_for(new_version).locations[STORE.id] == moved


def test_a_deactivated_location_leaves_availability_and_no_hold_can_take_from_it(
    desk, ledger, backend
):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 5), ev(STORE.id, s, "count", 2)])
    pickup = Query(method="pickup", store=STORE.id)
    assert (available(backend, s), available(backend, s, pickup)) == (7, 7)

    ledger.upsert_locations([dataclasses.replace(WAREHOUSE, active=False)])
    assert (available(backend, s), available(backend, s, pickup)) == (2, 2)
    excluded = {c.location: c.excluded for c in backend.reader.explain(s).contributions}
    assert excluded[WAREHOUSE.id] == "location inactive"
    assert desk.hold(hold((s, 3))).status == "refused"
    assert desk.hold(hold((s, 1), location=WAREHOUSE.id)).status == "refused"
    granted = desk.hold(hold((s, 2)))
    assert [(t.location, t.quantity) for t in granted.takes] == [(STORE.id, 2)]
    assert ledger.position(WAREHOUSE.id, s).reserved == 0

    ledger.upsert_locations([WAREHOUSE])  # back in service, its stock with it
    assert available(backend, s) == 5
    assert desk.hold(hold((s, 5))).status == "held"
    assert ledger.position(WAREHOUSE.id, s).reserved == 5


# -- 3. bad stock events change nothing -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Snapshot:
    positions: list[tuple]  # every column of the SKUs' SQL positions
    position_count: int
    event_count: int
    records: dict[str, bytes | None]  # the projection's raw record of each SKU


def snapshot(backend, skus: list[str]) -> Snapshot:
    with backend.ledger.engine.connect() as conn:
        rows = conn.execute(
            select(POS).where(POS.c.sku.in_(skus)).order_by(POS.c.location, POS.c.sku)
        ).all()
        events = conn.scalar(select(func.count()).select_from(EVENTS))
    projection = backend.projection
    return Snapshot(
        [tuple(row) for row in rows],
        backend.ledger.positions_count(),
        int(events),
        {s: projection.raw.get(projection.stock_key(s)) for s in skus},
    )


def test_rejected_events_change_nothing_while_the_valid_ones_of_their_batch_apply(ledger, backend):
    s, t, u = sku(), sku(), sku()
    ledger.ingest([ev(STORE.id, s, "count", 10), ev(WAREHOUSE.id, t, "count", 6)])
    before = snapshot(backend, [t, u])
    before_all = snapshot(backend, [s, t, u])
    bad = [
        ev("NOWHERE", t, "receive", 1),
        ev("NOWHERE", u, "count", 4),
        ev(WAREHOUSE.id, t, "receive", -2),
        ev(WAREHOUSE.id, t, "count", -1),
        {**ev(WAREHOUSE.id, t, "receive", 1), "type": "teleport"},
        {**ev(WAREHOUSE.id, t, "receive", 1), "quantity": "lots"},
    ]
    good = [ev(STORE.id, s, "receive", 3, 1), ev(WAREHOUSE.id, s, "receive", 2, 1)]
    result = ledger.ingest([good[0], *bad, good[1]])
    assert outcomes(result) == ["applied", *["rejected"] * len(bad), "applied"]

    assert snapshot(backend, [t, u]).positions == before.positions
    assert snapshot(backend, [t, u]).records == before.records
    assert backend.projection.raw.get(backend.projection.stock_key(u)) is None
    after = snapshot(backend, [s, t, u])
    assert after.event_count == before_all.event_count + len(good)
    assert after.position_count == before_all.position_count + 1  # s at the warehouse
    assert (ledger.position(STORE.id, s).on_hand, ledger.position(WAREHOUSE.id, s).on_hand) == (
        13,
        2,
    )
    assert {loc: p.on_hand for loc, p in backend.projection.read([s])[s].items()} == {
        STORE.id: 13,
        WAREHOUSE.id: 2,
    }

    only_bad = [{**e, "event_id": uuid.uuid4().hex} if isinstance(e, dict) else e for e in bad]
    assert outcomes(ledger.ingest(only_bad)) == ["rejected"] * len(bad)
    assert snapshot(backend, [s, t, u]) == after


def test_an_oversized_batch_changes_nothing_at_all(ledger, backend):
    s, t = sku(), sku()
    ledger.ingest([ev(STORE.id, s, "count", 10)])
    before = snapshot(backend, [s, t])
    batch = [ev(STORE.id, s, "receive", 1, i / 100) for i in range(MAX_BATCH_EVENTS)]
    with pytest.raises(BatchTooLarge, match=str(MAX_BATCH_EVENTS)):
        ledger.ingest([*batch, ev(WAREHOUSE.id, t, "count", 5)])
    assert snapshot(backend, [s, t]) == before


def test_a_replayed_batch_says_duplicate_and_changes_nothing_even_with_other_contents(
    ledger, backend
):
    s, t = sku(), sku()
    batch = [
        ev(STORE.id, s, "count", 10, 0),
        ev(STORE.id, s, "sale", 2, 5),
        ev(WAREHOUSE.id, s, "receive", 5, 6),
        ev(WAREHOUSE.id, t, "adjust", 3, 7),
    ]
    assert outcomes(ledger.ingest(batch)) == ["applied"] * 4
    before = snapshot(backend, [s, t])
    assert outcomes(ledger.ingest(batch)) == ["duplicate"] * 4
    assert snapshot(backend, [s, t]) == before
    altered = [{**e, "quantity": 99} for e in reversed(batch)]  # same ids, other contents
    assert outcomes(ledger.ingest(altered)) == ["duplicate"] * 4
    assert snapshot(backend, [s, t]) == before
    assert ledger.position(STORE.id, s).on_hand == 8


def test_a_stale_count_is_recorded_as_stale_and_changes_no_stock(ledger, backend):
    """Design: a stale event is recorded (so its replay is known as a duplicate and the history
    shows it) and changes nothing else: the position's stock, version and projection stay."""
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 4, 30), ev(STORE.id, s, "receive", 2, 40)])
    before = snapshot(backend, [s])
    stale = ev(STORE.id, s, "count", 9, 10)
    result = ledger.ingest([stale])
    assert outcomes(result) == ["stale"]
    assert result.changed == {}
    after = snapshot(backend, [s])
    assert after.records == before.records
    stock_columns = [
        c.name for c in POS.columns if c.name not in ("last_event_id", "last_received_us")
    ]
    keep = [POS.columns.keys().index(c) for c in stock_columns]
    assert [[row[i] for i in keep] for row in after.positions] == [
        [row[i] for i in keep] for row in before.positions
    ]
    assert after.position_count == before.position_count
    assert after.event_count == before.event_count + 1
    with ledger.engine.connect() as conn:
        recorded = conn.scalar(
            select(EVENTS.c.outcome).where(EVENTS.c.event_id == stale["event_id"])
        )
    assert recorded == "stale"
    assert outcomes(ledger.ingest([stale])) == ["duplicate"]
    assert snapshot(backend, [s]) == after
    assert ledger.position(STORE.id, s).on_hand == 6


# -- 4. rebuild over a rich state -------------------------------------------------------------

REBUILD_QUERIES = [
    Query(),
    Query(channel="marketplace"),
    Query(quantity=12),
    Query(on_date=T0 + timedelta(days=4), quantity=20),
    Query(method="pickup", store=STORE.id),
    Query(method="pickup", store=STORE_NO_SHIP.id, quantity=3),
]


def answers(backend, skus: list[str]) -> list:
    return [backend.reader.check(skus, q, detail=d) for q in REBUILD_QUERIES for d in (False, True)]


def raw_state(backend, skus: list[str]) -> tuple:
    projection = backend.projection
    inbound = {s: projection.redis.hgetall(projection.inbound_key(s)) for s in skus}
    return projection.read(skus), inbound, projection.network()


def test_a_rebuild_over_holds_rules_fences_thresholds_and_inbound_serves_the_same(
    desk, ledger, backend
):
    a, b, c = skus = [sku(), sku(), sku()]
    ledger.set_safety_rules(
        [
            SafetyRule(1, location_type="store"),
            SafetyRule(2, sku=b),
            SafetyRule(3, location=STORE.id, sku=a),
        ]
    )
    ledger.set_policy(
        AvailabilityPolicy(
            fences=[ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=2)],
            network_threshold_units=1,
            vendor=VendorConfidence(factor=0.5),
        )
    )
    counts = {a: (10, 6, 4, 10), b: (3, 4, 0, 5), c: (0, 1, 2, 0)}
    places = (WAREHOUSE, STORE, STORE_NO_SHIP, VENDOR)
    ledger.ingest(
        [
            ev(loc.id, s, "count", q)
            for s, qs in counts.items()
            for loc, q in zip(places, qs, strict=True)
            if q
        ]
    )
    record(
        ledger,
        [
            InboundIn(id=f"PO-{a}", location=WAREHOUSE.id, sku=a, quantity=7, expected_at=T0 + timedelta(days=3)),
            InboundIn(id=f"TR-{c}", location=STORE.id, sku=c, quantity=4, expected_at=T0 + timedelta(days=1), kind="transfer"),
        ],
    )  # fmt: skip
    assert desk.hold(hold((a, 4), (b, 1))).status == "held"
    assert desk.hold(hold((a, 1), method="pickup", store=STORE.id)).status == "held"

    before, raw_before = answers(backend, skus), raw_state(backend, skus)
    # the state is as rich as claimed: holds, buffers, fences, the threshold and inbound all show
    positions = raw_before[0]
    assert sum(p.reserved for p in positions[a].values()) == 5
    assert positions[b][STORE.id].safety == 2 and positions[a][STORE.id].safety == 3
    explained = backend.reader.explain(a)
    assert explained.held_back == 1
    assert any(part.fenced == 2 for part in explained.contributions)
    assert raw_before[1][a] and raw_before[1][c]

    report = rebuild(ledger)
    assert report.removed_keys > 0
    assert report.positions >= sum(1 for qs in counts.values() for q in qs if q)
    assert raw_state(backend, skus) == raw_before
    assert answers(backend, skus) == before


# -- 5. reads never touch SQL -----------------------------------------------------------------


@dataclasses.dataclass
class SqlActivity:
    statements: list[str] = dataclasses.field(default_factory=list)
    checkouts: int = 0


@contextmanager
def sql_activity(engine) -> Iterator[SqlActivity]:
    """Statements run and pool connections checked out by this thread while inside (the
    SQLite checkpointer's own thread is left out). Raw driver cursors show as checkouts."""
    seen, me = SqlActivity(), threading.get_ident()

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == me:
            seen.statements.append(statement)

    def on_checkout(dbapi_connection, record, proxy):
        if threading.get_ident() == me:
            seen.checkouts += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "checkout", on_checkout)


def test_availability_reads_touch_the_projection_only_never_sql(ledger, backend):
    s, t, never = sku(), sku(), sku()
    ledger.ingest(
        [ev(loc.id, s, "count", 5) for loc in NETWORK] + [ev(STORE_NO_SHIP.id, t, "count", 2)]
    )
    ledger.set_safety_rules([SafetyRule(1, location_type="store")])
    queries = [
        Query(),
        Query(method="pickup", store=STORE.id, quantity=3),
        Query(method="pickup", store="NOWHERE"),
        Query(on_date=T0 + timedelta(days=2)),
    ]

    with sql_activity(ledger.engine) as seen:
        cold = AvailabilityReader(backend.projection, clock=backend.reader.clock)
        plain = [cold.check([s, t, never], q) for q in queries]
        detailed = [backend.reader.explain(s, q) for q in queries]
    assert (seen.statements, seen.checkouts) == ([], 0)
    assert plain[0][0].available == 5 + 4 + int(5 * 0.8)  # the reads did read stock
    assert detailed[0].available == plain[0][0].available

    ledger.set_policy(  # a fence sends reads down the one-by-one path, and a new network version
        AvailabilityPolicy(fences=[ChannelFence(channel="b2b", location_type="store", share=0.5)])
    )
    with sql_activity(ledger.engine) as seen:
        fenced = backend.reader.check([s, t], queries[0])
        backend.reader.explain(t, queries[1])
    assert (seen.statements, seen.checkouts) == ([], 0)
    assert fenced[0].available == 5 + 2 + 4

    with sql_activity(ledger.engine) as seen:  # the probe does see a read of the ledger
        assert ledger.position(STORE.id, s).on_hand == 5
    assert seen.checkouts >= 1
    assert any("position" in statement for statement in seen.statements)
