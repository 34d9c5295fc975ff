"""Orders that split over three or more shipments still get the cheapest plan there is."""

from __future__ import annotations

import numpy as np
import pytest
from alloc_factories import instance, location, ship_order
from hypothesis import HealthCheck, given, seed, settings
from split_factories import brute_force_by_open_set, split_instances

from allocation import shipment_sets
from allocation.costs import order_options
from allocation.evaluate import hard_rule_violations, order_cost
from allocation.network import Remaining, compile_network
from allocation.single import solve_order
from allocation.validate import parse_instance


def _options(data: dict):  # type: ignore[no-untyped-def]
    instance_ = parse_instance(data)
    network = compile_network(instance_)
    return order_options(instance_.orders[0], network, Remaining.of(network)), instance_.rules


def _four_stores_one_sku_each() -> dict:
    stores = [location(f"S{k}", "store", 48.80 + 0.01 * k, 2.30) for k in range(4)]
    far = location("DC", "warehouse", 43.30, 5.37)
    stock = [("S0", "A", 1), ("S1", "B", 1), ("S2", "C", 2), ("S3", "D", 1), ("DC", "A", 9)]
    stock += [("S3", "C", 1), ("S1", "A", 1)]
    order = ship_order("O", 48.85, 2.35, ("A", 2), ("B", 1), ("C", 3), ("D", 1))
    return instance([*stores, far], stock, [order])


@seed(20261123)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_instances())
def test_a_split_order_gets_the_plan_exhaustive_search_finds_cheapest(data) -> None:
    options, rules = _options(data)

    decision = solve_order(options, rules)

    assert not hard_rule_violations(decision.options, decision.units, rules)
    assert np.all(decision.units <= decision.options.stock)
    assert decision.cost == pytest.approx(brute_force_by_open_set(options, rules), abs=1e-6)
    assert decision.bound <= decision.cost + 1e-6


@seed(20261124)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_instances())
def test_the_shipment_set_search_alone_finds_the_optimum_without_an_incumbent(data) -> None:
    options, rules = _options(data)

    units, complete = shipment_sets.cheaper_plan(options, rules, float("inf"))

    assert complete and units is not None
    cost = order_cost(options, units, rules).total
    assert cost == pytest.approx(brute_force_by_open_set(options, rules), abs=1e-6)


def test_an_order_scattered_over_four_nearby_stores_is_split_four_ways_by_the_search() -> None:
    options, rules = _options(_four_stores_one_sku_each())

    decision = solve_order(options, rules)

    assert decision.method == "shipment-set search"
    assert int((decision.units.sum(axis=1) > 0).sum()) == 4
    assert decision.cost == pytest.approx(brute_force_by_open_set(options, rules), abs=1e-6)


def test_past_the_search_budget_the_mip_decides_and_the_method_says_so(monkeypatch) -> None:
    options, rules = _options(_four_stores_one_sku_each())
    monkeypatch.setattr(shipment_sets, "MAX_STATES", 0)

    decision = solve_order(options, rules)

    assert decision.method.startswith("mip") and "past the search budget" in decision.method
    assert decision.cost == pytest.approx(brute_force_by_open_set(options, rules), abs=1e-6)
