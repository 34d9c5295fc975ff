"""Invariant 7 on random instances: every plan is feasible, fully accounted for and costed right."""

from __future__ import annotations

from alloc_factories import small_instances
from hypothesis import HealthCheck, given, seed, settings

from allocation import allocate, batch, parse_instance
from allocation.audit import plan_problems

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
