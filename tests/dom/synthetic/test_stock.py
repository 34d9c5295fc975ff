"""The seeded catalogue and stock look like a real retailer's: skewed popularity, popular SKUs
stocked widely, few units on store shelves, and the long tail at vendors."""

from __future__ import annotations

from collections import Counter

import numpy as np

from dom.synthetic import HEAD_SHARE, Network, generate_network
from inventory.domain.model import LocationType
from tests.dom.synthetic.samples import mid_network


def tail_mask(network: Network) -> np.ndarray:
    """True for SKUs in the long tail: the least popular (1 - HEAD_SHARE) of the catalogue."""
    order = np.argsort(-network.popularity, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank >= round(HEAD_SHARE * len(order))


def kind_of_rows(network: Network) -> np.ndarray:
    kinds = np.array([str(loc.type) for loc in network.locations])
    return kinds[network.stock.location_index]


def test_popularity_is_skewed_sums_to_one_and_is_shuffled_against_the_sku_id():
    popularity = mid_network().popularity

    assert abs(popularity.sum() - 1.0) < 1e-9
    top_percent = np.sort(popularity)[::-1][: len(popularity) // 100]
    assert top_percent.sum() > 0.3
    assert not np.all(np.diff(popularity) <= 0)


def test_prices_are_positive_with_a_median_near_25_eur():
    price = mid_network().price

    assert price.min() > 0
    assert 18 < np.median(price) < 33


def test_every_position_has_stock_and_appears_once_in_sku_location_order():
    stock = mid_network().stock

    assert stock.on_hand.min() > 0
    key = stock.sku_index.astype(np.int64) * 10_000 + stock.location_index
    assert np.all(np.diff(key) > 0)  # strictly increasing: sorted and no duplicate position
    assert stock.location_index.dtype == stock.sku_index.dtype == stock.on_hand.dtype == np.int32


def test_every_sku_is_stocked_somewhere():
    network = mid_network()

    assert np.array_equal(np.unique(network.stock.sku_index), np.arange(len(network.skus)))


def test_popular_skus_are_stocked_in_more_locations_than_tail_skus():
    network = mid_network()
    locations_per_sku = np.bincount(network.stock.sku_index, minlength=len(network.skus))
    order = np.argsort(-network.popularity)

    top_decile = locations_per_sku[order[: len(order) // 10]].mean()
    tail = locations_per_sku[tail_mask(network)].mean()

    assert top_decile > 40 > 5 > tail


def test_stores_hold_few_units_and_warehouses_hold_many_of_the_best_sellers():
    network = mid_network()
    kinds = kind_of_rows(network)
    best_seller = int(np.argmax(network.popularity))

    at_stores = network.stock.on_hand[kinds == "store"]
    assert at_stores.min() >= 1 and at_stores.max() <= 6
    best_at_warehouses = (kinds == "warehouse") & (network.stock.sku_index == best_seller)
    assert network.stock.on_hand[best_at_warehouses].min() > 500


def test_each_store_carries_a_fifth_to_two_fifths_of_the_head_skus():
    network = mid_network()
    head_skus = int((~tail_mask(network)).sum())
    kinds = kind_of_rows(network)

    per_store = np.bincount(network.stock.location_index[kinds == "store"])
    per_store = per_store[network.index_range(LocationType.store).start :]

    assert np.all(per_store / head_skus > 0.15) and np.all(per_store / head_skus < 0.45)


def test_the_long_tail_sits_mostly_at_vendors_and_never_in_stores():
    network = mid_network()
    kinds = kind_of_rows(network)
    in_tail = tail_mask(network)[network.stock.sku_index]

    tail_kinds = Counter(kinds[in_tail].tolist())

    assert tail_kinds["store"] == 0
    assert tail_kinds["dropship"] > 2 * tail_kinds["warehouse"]


def test_benchmark_sized_network_has_about_three_million_positions():
    network = generate_network(300, 50_000, seed=0)

    print(f"300 stores x 50,000 SKUs: {len(network.stock):,} positions")
    assert 2_500_000 <= len(network.stock) <= 3_500_000
