"""The seeded network's locations stand where a real retailer's would: warehouses by the biggest
cities, stores by population and a few km from their city, vendors that only ship."""

from __future__ import annotations

import re
from collections import Counter

from dom.synthetic import generate_network, haversine_km
from inventory.domain.model import Capability, LocationType
from tests.dom.synthetic.samples import mid_network


def test_warehouses_sit_near_the_biggest_cities():
    network = mid_network()
    biggest = sorted(network.cities, key=lambda city: -city.population)[:3]

    warehouses = [loc for loc in network.locations if loc.type is LocationType.warehouse]

    assert [w.id for w in warehouses] == ["DC-PARIS", "DC-LYON", "DC-MARSEILLE"]
    for warehouse, city in zip(warehouses, biggest, strict=True):
        assert haversine_km(warehouse.lat, warehouse.lon, city.lat, city.lon) < 60
        assert warehouse.capabilities == {Capability.ship, Capability.transfer, Capability.returns}


def test_the_biggest_city_has_the_most_stores():
    network = mid_network()

    per_city = Counter(loc.region for loc in network.locations if loc.type is LocationType.store)

    (first, first_count), (_, second_count) = per_city.most_common(2)
    assert first == "Paris"
    assert first_count > 2 * second_count


def test_stores_are_a_few_km_from_their_city():
    network = mid_network()
    cities = {city.name: city for city in network.cities}

    for store in (loc for loc in network.locations if loc.type is LocationType.store):
        city = cities[store.region]
        assert haversine_km(store.lat, store.lon, city.lat, city.lon) < 25


def test_stores_offer_pickup_and_returns_and_most_ship_from_store():
    stores = [loc for loc in mid_network().locations if loc.type is LocationType.store]

    assert all(s.can(Capability.pickup) and s.can(Capability.returns) for s in stores)
    ship_share = sum(s.can(Capability.ship) for s in stores) / len(stores)
    assert 0.55 < ship_share < 0.85
    assert all(20 <= s.capacity_per_day <= 80 and s.lead_time_hours == 4 for s in stores)
    assert {s.transfer_days for s in stores} <= {1.0, 2.0, 3.0}


def test_vendors_only_ship_and_take_three_days():
    vendors = [loc for loc in mid_network().locations if loc.type is LocationType.dropship]

    assert vendors and all(v.capabilities == {Capability.ship} for v in vendors)
    assert all(v.lead_time_hours == 72 for v in vendors)


def test_ids_are_unique_and_well_formed():
    network = generate_network(130, 1_200, seed=1, vendors=3)
    ids = [loc.id for loc in network.locations]

    assert len(set(ids)) == len(ids)
    patterns = {
        LocationType.warehouse: r"DC-[A-Z-]+",
        LocationType.store: r"ST-\d{4}",
        LocationType.dropship: r"VD-\d{3}",
    }
    for loc in network.locations:
        assert re.fullmatch(patterns[loc.type], loc.id), loc.id
    assert network.skus[0] == "SKU-000001" and network.skus[-1] == "SKU-001200"
    assert all(re.fullmatch(r"SKU-\d{6}", sku) for sku in network.skus)


def test_more_warehouses_than_cities_get_numbered_ids():
    network = generate_network(2, 10, seed=0, warehouses=len(generate_network(1, 1).cities) + 1)

    ids = [loc.id for loc in network.locations if loc.type is LocationType.warehouse]

    assert "DC-PARIS" in ids and "DC-PARIS-2" in ids
    assert len(set(ids)) == len(ids)
