"""The priced LP bound (allocation.lp_bound): never above a plan solved exactly, at any prices,
and equal to the LP over every candidate when column generation gets there."""

from __future__ import annotations

import time

import numpy as np
import pytest
from alloc_factories import instance, location, ship_order, small_instances
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from allocation import allocate, batch, lp_bound, parse_instance, shortlist
from allocation.costs import order_options
from allocation.lp_master import Prices
from allocation.model import solve_mip
from allocation.network import Remaining, compile_network
from allocation.single import solve_order


def _without_kits(data: dict) -> dict:
    for order in data["orders"]:
        for line in order["lines"]:
            line.pop("kit", None)
    return data


MULTI_ORDER = small_instances(max_locations=4, max_lines=3, max_orders=6, max_quantity=3)
COST_MODEL_ONLY = small_instances(
    max_locations=4, max_lines=3, max_orders=6, max_quantity=3, with_rules=False
).map(_without_kits)
SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


def _joint(data):  # type: ignore[no-untyped-def]
    """Every order's full candidates, standalone optima, and the joint optimum solved exactly."""
    instance = parse_instance(data)
    network = compile_network(instance)
    full = Remaining.of(network)
    problems = [order_options(order, network, full) for order in instance.orders]
    floors = [solve_order(p, instance.rules).bound for p in problems]
    if not any(p.size for p in problems):  # nothing can be sent: every unit is backordered
        return instance, full, problems, floors, sum(floors)
    exact = solve_mip(problems, instance.rules, 30, capacity=full.capacity, threads=1)
    assert exact.optimal, exact.status
    return instance, full, problems, floors, exact.objective


@pytest.fixture
def tiny_shortlists(monkeypatch):  # type: ignore[no-untyped-def]
    """One candidate per order and one holder per line, so candidates must be priced in."""
    monkeypatch.setattr(shortlist, "CANDIDATES_PER_ORDER", 1)
    monkeypatch.setattr(shortlist, "LINE_COVER", 0)


@seed(21)
@settings(max_examples=60, deadline=None, suppress_health_check=SLOW)
@given(COST_MODEL_ONLY)
def test_the_bound_is_never_above_the_optimum_and_reaches_the_full_lp(tiny_shortlists, data):
    """The order's own rules (kits, shipment limits, minimum values) are left out of the bound,
    which only lowers it: with the cost model alone it is the LP relaxation exactly."""
    instance, full, problems, floors, optimum = _joint(data)

    bound = lp_bound.lp_bound(
        problems, floors, full.capacity, instance.rules, time.perf_counter() + 30
    )

    assert bound is not None and bound.exact
    assert bound.value <= optimum + 1e-6
    lp = solve_mip(problems, instance.rules, 30, full.capacity, floors=floors, backend="GLOP")
    assert bound.value == pytest.approx(lp.objective, rel=1e-6, abs=1e-6)


def _prices(draw, problems, capacity):  # type: ignore[no-untyped-def]
    """Any prices of the right signs for the rows of these orders."""
    price = st.floats(0, 60)
    demand, stock, limit, cut = {}, {}, {}, {}
    for o, opt in enumerate(problems):
        cut[o] = draw(st.floats(0, 1.5))
        for i, line in enumerate(opt.order.lines):
            demand[o, i] = draw(st.floats(-20, 150))
            for j in np.flatnonzero(opt.stock[:, i] > 0):
                key = (int(opt.loc[j]), line.sku)
                stock[key], limit[key] = -draw(price), int(opt.stock[j, i])
    ship = {int(n): -draw(price) for n in np.flatnonzero(capacity < 10)}
    return Prices(demand, stock, ship, cut, limit)


@seed(22)
@settings(max_examples=80, deadline=None, suppress_health_check=SLOW)
@given(MULTI_ORDER, st.data())
def test_the_lagrangian_bound_holds_at_any_prices(data, draw) -> None:
    instance, full, problems, floors, optimum = _joint(data)
    prices = _prices(draw.draw, problems, full.capacity)
    penalty = instance.rules.backorder_penalty

    dense = lp_bound._dense_prices(prices, len(full.capacity))
    reduced = [lp_bound._reduced(opt, o, prices, *dense, penalty) for o, opt in enumerate(problems)]
    value = lp_bound._lagrangian(problems, floors, full.capacity, prices, reduced, penalty)

    assert value <= optimum + 1e-6


@seed(23)
@settings(max_examples=40, deadline=None, suppress_health_check=SLOW)
@given(MULTI_ORDER)
def test_batch_modes_reported_bound_is_never_above_the_optimum(data) -> None:
    *_, optimum = _joint(data)

    plan = allocate(data, mode="batch", time_limit_s=5)

    assert plan["lower_bound"] <= optimum + 1e-3


def test_a_contended_set_too_large_for_one_mip_still_gets_its_lp_bound(monkeypatch) -> None:
    """Two orders want the one unit of the near warehouse: alone, each would take it. The sum of
    their standalone optima is below any real plan; the LP sees the stock row and is exact here."""
    monkeypatch.setattr(batch, "MAX_JOINT_VARIABLES", 0)  # as if the contended set were huge
    data = instance(
        [
            location("NEAR", "warehouse", 48.8, 2.3),
            location("FAR", "warehouse", 43.3, 5.4),
        ],
        [("NEAR", "A", 1), ("FAR", "A", 5)],
        [ship_order("O1", 48.9, 2.4, ("A", 1)), ship_order("O2", 48.7, 2.2, ("A", 1))],
    )
    *_, floors, optimum = _joint(data)

    plan = allocate(data, mode="batch", time_limit_s=10)

    assert plan["cost"] == pytest.approx(optimum, abs=1e-3)
    assert sum(floors) < optimum - 5  # the standalone optima are a weak bound here
    assert plan["lower_bound"] == pytest.approx(optimum, abs=1e-3)
    assert "LP relaxation" in plan["solver"]["bound_scope"]
