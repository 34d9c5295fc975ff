"""Invariant 7 on random instances: every plan is feasible, fully accounted for and costed right."""

from __future__ import annotations

import numpy as np
from alloc_factories import instance, location, ship_order, small_instances
from hypothesis import HealthCheck, given, seed, settings

from allocation import allocate, batch, parse_instance
from allocation.audit import plan_problems
from allocation.network import Remaining, compile_network
from allocation.single import solve_order

MULTI_ORDER = small_instances(max_locations=4, max_lines=3, max_orders=6, max_quantity=3)


@seed(7)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MULTI_ORDER)
def test_an_online_plan_never_gives_more_than_is_available_and_accounts_for_every_unit(
    data,
) -> None:
    plan = allocate(data, mode="online")

    assert plan_problems(parse_instance(data), plan) == []


@seed(8)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MULTI_ORDER)
def test_a_batch_plan_is_feasible_and_its_lower_bound_holds_for_any_other_plan(data) -> None:
    batch = allocate(data, mode="batch", time_limit_s=5)
    online = allocate(data, mode="online")

    assert plan_problems(parse_instance(data), batch) == []
    assert batch["lower_bound"] <= batch["cost"] + 1e-6
    assert batch["lower_bound"] <= online["cost"] + 1e-3


@seed(9)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(MULTI_ORDER)
def test_a_batch_planned_neighbourhood_by_neighbourhood_is_still_feasible(
    monkeypatch, data
) -> None:
    monkeypatch.setattr(batch, "MAX_JOINT_VARIABLES", 0)  # as if the contended set were huge
    monkeypatch.setattr(batch, "CHUNK_ORDERS", 2)

    plan = allocate(data, mode="batch", time_limit_s=5)
    online = allocate(data, mode="online")

    assert plan_problems(parse_instance(data), plan) == []
    assert plan["lower_bound"] <= online["cost"] + 1e-3


@seed(10)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(MULTI_ORDER)
def test_a_batch_planned_on_its_lps_candidates_and_repaired_is_still_feasible(
    monkeypatch, data
) -> None:
    monkeypatch.setattr(batch, "MAX_JOINT_VARIABLES", 0)  # shortlists too large: the LP guides
    monkeypatch.setattr(batch, "MAX_GUIDED_VARIABLES", 10**9)

    plan = allocate(data, mode="batch", time_limit_s=5)
    online = allocate(data, mode="online")

    assert plan_problems(parse_instance(data), plan) == []
    assert plan["lower_bound"] <= online["cost"] + 1e-3


def test_a_joint_answer_that_collides_with_the_other_orders_is_repaired_to_a_feasible_plan():
    """The joint answer sends O2 to FAR, whose one unit O3 (outside the set) took alone: the
    repair keeps O1 and O2's answer and decides O3 again on what is left."""
    data = instance(
        [
            location("NEAR", "warehouse", 48.8, 2.3),
            location("FAR", "warehouse", 45.7, 4.8),
            location("DC", "warehouse", 43.3, 5.4),
        ],
        [("NEAR", "A", 1), ("FAR", "A", 1), ("DC", "A", 9)],
        [
            ship_order("O1", 48.9, 2.4, ("A", 1)),
            ship_order("O2", 48.7, 2.2, ("A", 1)),
            ship_order("O3", 45.8, 4.9, ("A", 1)),
        ],
    )
    instance_ = parse_instance(data)
    network = compile_network(instance_)
    full = Remaining.of(network)
    options, decisions = batch._standalone(instance_, network, full)
    trial = {o: (d.options, d.units) for o, d in enumerate(decisions)}
    far = np.flatnonzero(options[1].loc == network.index["FAR"])
    to_far = solve_order(options[1].subset(far), instance_.rules)
    trial[1] = (to_far.options, to_far.units)
    assert batch._colliding(network, full, trial) == {1, 2}

    repaired = batch._repair(instance_, network, trial, [0, 1])

    assert not batch._colliding(network, full, repaired)
    assert repaired[1] is trial[1] and repaired[0] is trial[0]
    opt, units = repaired[2]
    assert [network.locations[int(n)].id for n in opt.loc[units.sum(axis=1) > 0]] == ["DC"]
