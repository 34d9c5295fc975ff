"""The projection's packed records: versioned writes, location slots, repairs, on both backends."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from inventory.availability.policy import AvailabilityPolicy, VendorConfidence
from inventory.availability.sources import Query, sources_for
from inventory.availability.tally import tally_many
from inventory.domain import records
from inventory.domain.model import Location, LocationType
from inventory.domain.projected import Projected
from inventory.projection.slots import UnknownLocation
from inventory.projection.store import Projection
from inventory.stock.feed import MAX_EVENT_QUANTITY
from tests.inventory.helpers import NETWORK, STORE, VENDOR, WAREHOUSE, ev, sku


@pytest.fixture
def projection(backend):
    backend.ledger.upsert_locations(NETWORK)
    return backend.projection


def test_a_position_moves_only_forward_and_a_repair_may_move_it_back(projection):
    s = sku()
    assert projection.put({(STORE.id, s): Projected(5, 10, 1, 2, 100)}) == 1
    assert projection.put({(STORE.id, s): Projected(3, 99, 0, 0, 100)}) == 0  # older: ignored
    assert projection.read([s])[s][STORE.id] == Projected(5, 10, 1, 2, 100)
    assert projection.put({(STORE.id, s): Projected(6, 7, 0, 0, 200)}) == 1
    assert projection.read([s])[s][STORE.id] == Projected(6, 7, 0, 0, 200)
    assert projection.overwrite({(STORE.id, s): Projected(1, 4, 0, 0, 0)}) == 1
    assert projection.read([s])[s][STORE.id] == Projected(1, 4, 0, 0, 0)


def test_the_locations_of_one_sku_share_a_record_and_each_can_be_removed(projection):
    s = sku()
    held = {
        (loc.id, s): Projected(i + 1, 10 * (i + 1), i, 0, 1_000 + i)
        for i, loc in enumerate(NETWORK)
    }
    projection.put(held)
    assert projection.read([s])[s] == {loc: value for (loc, _), value in held.items()}
    assert projection.remove(STORE.id, s) == 1
    assert projection.remove(STORE.id, s) == 0
    left = projection.read([s])[s]
    assert STORE.id not in left and len(left) == len(NETWORK) - 1
    assert left[VENDOR.id] == held[(VENDOR.id, s)]
    _, some = projection.read_with_version({s: [WAREHOUSE.id, STORE.id, "NOT-A-LOCATION"]})
    assert some[s] == {WAREHOUSE.id: held[(WAREHOUSE.id, s)]}


def test_each_channels_units_ride_in_the_record_and_move_only_forward_as_the_position_does(
    projection, backend
):
    s = sku()
    projection.put({(STORE.id, s): Projected(5, 10, 4, 0, 100, {"web": 3, "store": 1})})
    projection.put({(WAREHOUSE.id, s): Projected(2, 8, 2, 0, 100, {"store": 2})})
    projection.put({(STORE.id, s): Projected(4, 10, 9, 0, 100, {"web": 9})})  # older: ignored
    projection.put({(STORE.id, s): Projected(6, 10, 3, 0, 100, {"web": 2})})  # store unchanged
    assert projection.read([s])[s] == {
        STORE.id: Projected(6, 10, 3, 0, 100, {"web": 2, "store": 1}),
        WAREHOUSE.id: Projected(2, 8, 2, 0, 100, {"store": 2}),
    }
    _, one = projection.read_with_version({s: [WAREHOUSE.id]})
    assert one[s] == {WAREHOUSE.id: Projected(2, 8, 2, 0, 100, {"store": 2})}
    projection.put({(STORE.id, s): Projected(7, 10, 2, 0, 100, {"web": 0, "store": 2})})
    assert projection.read([s])[s][STORE.id].by_channel == {"store": 2}  # none: not named
    assert projection.remove(STORE.id, s, ["web", "store"]) == 3
    assert projection.read([s])[s] == {WAREHOUSE.id: Projected(2, 8, 2, 0, 100, {"store": 2})}
    view = backend.reader.view_for(backend.reader.known_version)
    sources = sources_for(view.locations, view.slots, view.policy, Query())
    [counted] = tally_many(
        [projection.raw.get(projection.stock_key(s))], sources.table, 0, view.policy.vendor
    )
    assert counted.total == 6  # pool entries are never read as a location's stock


def test_a_slot_no_location_holds_reads_back_as_a_marked_name(projection):
    s = sku()
    projection.overwrite({("#4321", s): Projected(1, 3, 0, 0, 0)})
    assert projection.read([s])[s] == {"#4321": Projected(1, 3, 0, 0, 0)}
    assert projection.remove("#4321", s) == 1
    assert projection.read([s])[s] == {}


def test_a_position_at_a_location_the_ledger_does_not_have_is_refused(projection):
    with pytest.raises(UnknownLocation):
        projection.put({("NOWHERE", sku()): Projected(1, 1, 0, 0, 0)})


def test_slots_are_given_once_and_kept(backend):
    ledger = backend.ledger
    ledger.upsert_locations(NETWORK)
    first = ledger.slots()
    assert sorted(first.values()) == list(range(len(NETWORK)))
    newcomer = Location("ST-NEW", LocationType.store, 45.0, 5.0)
    ledger.upsert_locations([newcomer, *reversed(NETWORK)])
    again = ledger.slots()
    assert {loc: again[loc] for loc in first} == first
    assert again["ST-NEW"] == len(NETWORK)


def test_locations_created_at_once_by_many_writers_get_distinct_slots(backend):
    ledger = backend.ledger
    errors: list[Exception] = []

    def add(i: int) -> None:
        try:
            ledger.upsert_locations(
                [Location(f"ST-{i}-{uuid.uuid4().hex[:6]}", LocationType.store, 45.0, 5.0)]
            )
        except Exception as error:  # collected: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    slots = ledger.slots()
    assert len(slots) == 8 and len(set(slots.values())) == 8


def test_a_record_entry_round_trips_and_refuses_what_it_cannot_hold():
    entry = records.pack(7, 2**40, -3, 5, 1, 1_790_000_000)
    [(version, slot, reported, on_hand, reserved, safety)] = records.unpack(entry).tolist()
    assert (version, slot, reported, on_hand, reserved, safety) == (
        2**40,
        7,
        1_790_000_000,
        -3,
        5,
        1,
    )
    assert records.unpack(records.pack(1, 1, 2**40, 2**33, 0, 0))["on_hand"][0] == 2**40
    with pytest.raises(OverflowError, match="on_hand"):
        records.pack(1, 1, 2**63, 0, 0, 0)
    with pytest.raises(ValueError, match="whole number"):
        records.unpack(entry[:-1])


def test_names_no_location_has_do_not_cost_a_ledger_read_each_time(backend):
    backend.ledger.upsert_locations(NETWORK)
    projection, reads = backend.projection, []

    def counted() -> dict[str, int]:
        reads.append(1)
        return backend.ledger.slots()

    projection.bind_slots(counted)
    s = sku()
    projection.put({(STORE.id, s): Projected(1, 2, 0, 0, 0)})  # a writer's miss reads at once
    assert len(reads) == 1
    for _ in range(50):
        assert projection.read_with_version({s: ["NO-SUCH-STORE", STORE.id]})[1][s] == {
            STORE.id: Projected(1, 2, 0, 0, 0)
        }
        assert projection.location_of(777) == "#777"
    assert len(reads) <= 2


def test_closing_the_projection_closes_its_binary_connections(embedded_redis):
    def connections() -> int:
        return len(embedded_redis.client_list())

    before = connections()
    projection = Projection(embedded_redis, f"t{uuid.uuid4().hex[:8]}")
    projection.read([])  # opens the binary twin's connection
    assert connections() > before
    projection.close()
    deadline = time.monotonic() + 5  # the server notices a closed socket on its next turn
    while connections() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connections() == before


def test_a_torn_record_is_refused_rather_than_misread():
    table = sources_for(
        {WAREHOUSE.id: WAREHOUSE}, {WAREHOUSE.id: 0}, AvailabilityPolicy(), Query()
    ).table
    whole = records.pack(0, 1, 5, 0, 0, 0)
    assert (
        tally_many([whole], table, 0, VendorConfidence(factor=1.0, max_age_hours=1))[0].total == 5
    )
    with pytest.raises(ValueError, match="whole number"):
        tally_many([whole, whole[:-1]], table, 0, VendorConfidence(factor=1.0, max_age_hours=1))


def test_a_report_time_before_the_epoch_is_held_as_the_epoch_on_both_sides():
    assert Projected.of(1, 7, 0, 0, -86_400_000_000).reported_s == 0


def test_receipts_adding_up_past_two_billion_units_are_kept_and_projected(backend):
    """The feed bounds each event, not a position: SQL and the projection hold 64 bits."""
    backend.ledger.upsert_locations(NETWORK)
    s = sku()
    receipts = [ev(WAREHOUSE.id, s, "receive", MAX_EVENT_QUANTITY, i) for i in range(2_200)]
    result = backend.ledger.ingest(receipts)
    assert [v.outcome.value for _, v in result.verdicts] == ["applied"] * 2_200
    units = 2_200 * MAX_EVENT_QUANTITY
    assert units > 2**31
    assert backend.ledger.position(WAREHOUSE.id, s).on_hand == units
    assert backend.projection.read([s])[s][WAREHOUSE.id].on_hand == units
    assert backend.reader.check([s])[0].available == units


def test_reading_named_locations_gives_exactly_those_held_few_or_many(backend):
    stores = [Location(f"ST-X{i:02d}", LocationType.store, 45.0, 5.0) for i in range(12)]
    backend.ledger.upsert_locations(stores)
    projection, s = backend.projection, sku()
    held = {(loc.id, s): Projected(1, i + 1, 0, 0, 0) for i, loc in enumerate(stores[::2])}
    projection.put(held)
    for named in ([stores[0].id], [loc.id for loc in stores[:3]], [loc.id for loc in stores]):
        _, found = projection.read_with_version({s: [*named, "NOT-A-LOCATION"]})
        assert found[s] == {loc: v for (loc, _), v in held.items() if loc in named}
