"""Safety stock by rule: the most specific rule wins, replacing the rules moves every buffer to
the new winner, and no hold takes a buffer whatever the projection claims. On both backends."""

from __future__ import annotations

import pytest

from inventory.availability.sources import Query
from inventory.domain.model import Location
from inventory.holds.decide import decide
from inventory.holds.dialects import dialect_of
from inventory.holds.outcome import Changes
from inventory.holds.plan import Plan
from inventory.holds.request import HoldRequest
from inventory.sql import transaction as sql_transaction
from inventory.stock.safety import InvalidSafetyRule, SafetyRule
from tests.inventory.helpers import STORE, STORE_NO_SHIP, WAREHOUSE, ev, sku
from tests.inventory.holding import available, hold, showing


def safety_at(backend, s: str, locations: list[Location]) -> dict[str, int]:
    """Each location's safety stock for `s`, in SQL and as the projection holds it."""
    in_sql = {loc.id: backend.ledger.position(loc.id, s).safety for loc in locations}
    projected = backend.projection.read([s])[s]
    assert {loc.id: projected[loc.id].safety for loc in locations} == in_sql
    return in_sql


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
    claims = None if proposed is None else showing({(WAREHOUSE.id, s): proposed})

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


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (dict(units=-1), "units is 0 to"),
        (dict(units=2**40), "units is 0 to"),
        (dict(units="5"), "whole number"),
        (dict(units=True), "whole number"),
        (dict(units=1, location_type="shop"), "unknown location type 'shop'"),
        (dict(units=1, sku=""), "sku is 1 to 64 characters"),
        (dict(units=1, location="L" * 65), "location is 1 to 64 characters"),
    ],
)
def test_a_safety_rule_that_cannot_be_kept_is_refused_and_the_rules_in_force_stay(
    ledger, backend, rule, reason
):
    s = sku()
    ledger.set_safety_rules([SafetyRule(2, location=WAREHOUSE.id)])
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    with pytest.raises(InvalidSafetyRule, match=reason):
        ledger.set_safety_rules([SafetyRule(**rule)])
    assert ledger.position(WAREHOUSE.id, s).safety == 2
