"""Every online decision is optimal for the cost model: checked against exhaustive search."""

from __future__ import annotations

import pytest
from alloc_factories import brute_force, small_instances
from hypothesis import HealthCheck, given, seed, settings

from allocation.costs import order_options
from allocation.evaluate import hard_rule_violations
from allocation.network import Remaining, compile_network
from allocation.single import solve_order
from allocation.validate import parse_instance


@seed(20261122)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_each_order_gets_the_cheapest_plan_exhaustive_search_can_find(data) -> None:
    instance = parse_instance(data)
    network = compile_network(instance)
    options = order_options(instance.orders[0], network, Remaining.of(network))

    decision = solve_order(options, instance.rules)

    assert not hard_rule_violations(decision.options, decision.units, instance.rules)
    assert decision.cost == pytest.approx(brute_force(options, instance.rules), abs=1e-6)
    assert decision.bound <= decision.cost + 1e-6


@seed(11)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances(with_rules=False))
def test_with_the_default_cost_model_alone_each_order_still_gets_the_cheapest_plan(data) -> None:
    instance = parse_instance(data)
    network = compile_network(instance)
    options = order_options(instance.orders[0], network, Remaining.of(network))

    decision = solve_order(options, instance.rules)

    assert decision.cost == pytest.approx(brute_force(options, instance.rules), abs=1e-6)
