"""Synthetic orders follow the network's geography and catalogue, in the allocation instance shape."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

import numpy as np
import pytest

from allocation.validate import parse_instance
from dom.synthetic import Network, generate_network, haversine_km
from dom.synthetic.demand import DEFAULT_RULES, generate_orders, instance_for
from inventory.domain.model import LocationType


@cache
def network() -> Network:
    return generate_network(40, 1_500, seed=11)


@cache
def orders() -> tuple[dict, ...]:
    return tuple(generate_orders(network(), 3_000, seed=1))


def test_orders_reference_existing_skus_and_stores():
    skus = set(network().skus)
    stores = {loc.id for loc in network().locations if loc.type is LocationType.store}

    for order in orders():
        assert {line["sku"] for line in order["lines"]} <= skus
        if order["delivery"]["method"] == "pickup":
            assert order["delivery"]["store"] in stores


def test_orders_have_exactly_the_instance_shape():
    order = orders()[0]

    assert set(order) == {"id", "delivery", "lines"}
    assert set(order["delivery"]) in ({"method", "lat", "lon"}, {"method", "store"})
    for line in order["lines"]:
        assert set(line) == {"id", "sku", "quantity", "price"}
        assert isinstance(line["price"], float) and isinstance(line["quantity"], int)


def test_order_ids_are_unique_and_prefixed():
    ids = [order["id"] for order in generate_orders(network(), 50, seed=2, id_prefix="WEB")]

    assert ids[0] == "WEB-000001" and ids[-1] == "WEB-000050"
    assert len(set(ids)) == 50


def test_lines_have_distinct_skus_numbered_from_one_and_mostly_single_units():
    quantities = Counter()
    for order in orders():
        skus = [line["sku"] for line in order["lines"]]
        assert len(set(skus)) == len(skus)
        assert [line["id"] for line in order["lines"]] == [str(k + 1) for k in range(len(skus))]
        quantities.update(line["quantity"] for line in order["lines"])

    assert set(quantities) <= {1, 2, 3}
    assert quantities[1] > 0.7 * sum(quantities.values())


def test_line_prices_are_the_network_unit_prices():
    for order in orders()[:200]:
        for line in order["lines"]:
            assert line["price"] == network().price[network().sku_index(line["sku"])]


def test_pickup_share_is_roughly_as_asked():
    for share in (0.0, 0.3, 1.0):
        placed = generate_orders(network(), 2_000, seed=3, pickup_share=share)
        pickups = sum(order["delivery"]["method"] == "pickup" for order in placed)
        assert abs(pickups / 2_000 - share) < 0.04


def test_line_counts_have_the_asked_mean_and_cap():
    placed = generate_orders(network(), 4_000, seed=4, mean_lines=2.5, max_lines=6)
    counts = np.array([len(order["lines"]) for order in placed])

    assert counts.min() == 1 and counts.max() == 6
    assert 2.1 < counts.mean() < 2.6
    assert np.mean(counts == 1) > np.mean(counts == 2) > np.mean(counts == 3)


def test_a_tiny_catalogue_caps_lines_at_its_size():
    tiny = generate_network(2, 3, seed=0)

    placed = generate_orders(tiny, 200, seed=0, mean_lines=5, max_lines=10)

    assert max(len(order["lines"]) for order in placed) == 3


def test_ship_addresses_are_near_cities_and_mostly_around_paris():
    cities = network().cities
    addresses = [o["delivery"] for o in orders() if o["delivery"]["method"] == "ship"]
    lat = np.array([a["lat"] for a in addresses])[:, None]
    lon = np.array([a["lon"] for a in addresses])[:, None]
    city_lat = np.array([c.lat for c in cities])[None, :]
    city_lon = np.array([c.lon for c in cities])[None, :]

    distance_km = haversine_km(lat, lon, city_lat, city_lon)

    assert distance_km.min(axis=1).max() < 80
    paris = [c.name for c in cities].index("Paris")
    assert 0.25 < np.mean(distance_km[:, paris] < 50) < 0.45


def test_pickups_favour_stores_in_big_cities():
    regions = {loc.id: loc.region for loc in network().locations}

    picked = Counter(
        regions[o["delivery"]["store"]] for o in orders() if o["delivery"]["method"] == "pickup"
    )

    assert picked.most_common(1)[0][0] == "Paris"


def test_popular_skus_are_ordered_most():
    index = network().sku_index
    ordered = Counter(index(line["sku"]) for order in orders() for line in order["lines"])
    top_decile = np.argsort(-network().popularity)[: len(network().skus) // 10].tolist()

    assert sum(ordered[sku] for sku in top_decile) > 0.5 * sum(ordered.values())


def test_the_same_seed_places_the_same_orders_and_another_seed_others():
    assert generate_orders(network(), 100, seed=5) == generate_orders(network(), 100, seed=5)
    assert generate_orders(network(), 100, seed=5) != generate_orders(network(), 100, seed=6)


def test_instance_stock_matches_the_network_stock_for_the_ordered_skus():
    placed = list(orders()[:50])
    ordered = {line["sku"] for order in placed for line in order["lines"]}

    instance = instance_for(network(), placed)

    expected = {(loc, sku, units) for loc, sku, units in network().positions() if sku in ordered}
    rows = {(row["location"], row["sku"], row["available"]) for row in instance["stock"]}
    assert rows == expected
    assert len(instance["stock"]) == len(expected)
    assert instance["orders"] == placed


def test_instance_lists_every_location_in_the_instance_shape():
    instance = instance_for(network(), list(orders()[:5]))

    assert [row["id"] for row in instance["locations"]] == [loc.id for loc in network().locations]
    keys = {
        "id",
        "type",
        "lat",
        "lon",
        "capabilities",
        "capacity",
        "lead_time_hours",
        "transfer_days",
    }
    assert all(set(row) == keys for row in instance["locations"])
    warehouse = instance["locations"][0]
    assert warehouse["type"] == "warehouse"
    assert warehouse["capabilities"] == ["returns", "ship", "transfer"]
    json.dumps(instance)  # plain data only


def test_instance_uses_the_default_rules_unless_given_and_never_shares_them():
    instance = instance_for(network(), list(orders()[:5]))
    instance["rules"]["handling_fixed"]["store"] = 99.0

    assert instance_for(network(), [])["rules"] == DEFAULT_RULES
    assert DEFAULT_RULES["handling_fixed"]["store"] == 4.5
    custom = {"ship_base": 7.0}
    assert instance_for(network(), [], rules=custom)["rules"] == custom


def test_a_stock_scale_below_one_makes_stock_scarce_but_keeps_every_position():
    placed = list(orders()[:50])
    full = instance_for(network(), placed)["stock"]

    half = instance_for(network(), placed, stock_scale=0.5)["stock"]

    assert [(r["location"], r["sku"]) for r in half] == [(r["location"], r["sku"]) for r in full]
    assert [r["available"] for r in half] == [r["available"] // 2 for r in full]
    assert any(r["available"] == 0 for r in half)


def test_the_allocation_core_accepts_the_instance():
    placed = generate_orders(network(), 200, seed=9, pickup_share=0.4)

    instance = parse_instance(instance_for(network(), placed, stock_scale=0.3))

    assert len(instance.orders) == 200
    assert len(instance.locations) == len(network().locations)


@pytest.mark.parametrize(
    "kwargs", [{"n": -1}, {"pickup_share": 1.5}, {"max_lines": 0}, {"mean_lines": 0.5}]
)
def test_impossible_demand_is_refused(kwargs):
    arguments = {"n": 10, "seed": 0} | kwargs
    with pytest.raises(ValueError):
        generate_orders(network(), **arguments)
