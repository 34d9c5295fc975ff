"""Locations: every field round-trips, an upsert updates a known location and keeps its slot, and
a deactivated location leaves availability and holds until it is back. On both backends."""

from __future__ import annotations

import dataclasses

from inventory.availability.sources import Query
from inventory.domain.model import Capability, Location, LocationType
from tests.inventory.helpers import NETWORK, STORE, WAREHOUSE, ev, sku
from tests.inventory.holding import available, hold

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
