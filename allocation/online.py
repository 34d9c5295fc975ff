"""Online mode: orders one at a time, in sequence, each decided optimally against what is left.

This is what the API does for each incoming order; the plan's lower bound is the sum of the
per-order bounds, so it proves each decision optimal, not the sequence (that is batch mode's job).
"""

from __future__ import annotations

import time
from typing import Any

from allocation.costs import order_options
from allocation.instance import Instance
from allocation.network import Network, Remaining, compile_network
from allocation.plan import assemble, order_plan
from allocation.single import OrderDecision, solve_order

ORDER_TIME_LIMIT_S = 5.0


def commit(decision: OrderDecision, remaining: Remaining) -> None:
    """Consume the stock and capacity a decision uses."""
    opt = decision.options
    for j in range(opt.size):
        if decision.units[j].sum() == 0:
            continue
        n = int(opt.loc[j])
        remaining.open_shipment(n)
        for i, line in enumerate(opt.order.lines):
            if decision.units[j, i]:
                remaining.consume(n, line.sku, int(decision.units[j, i]))


def decide_in_sequence(
    instance: Instance, network: Network, remaining: Remaining
) -> list[OrderDecision]:
    decisions = []
    for order in instance.orders:
        decision = solve_order(
            order_options(order, network, remaining), instance.rules, ORDER_TIME_LIMIT_S
        )
        commit(decision, remaining)
        decisions.append(decision)
    return decisions


def allocate_online(instance: Instance) -> dict[str, Any]:
    started = time.perf_counter()
    network = compile_network(instance)
    decisions = decide_in_sequence(instance, network, Remaining.of(network))
    orders = [order_plan(network, d.options, d.units, instance.rules) for d in decisions]
    methods: dict[str, int] = {}
    for d in decisions:
        methods[d.method] = methods.get(d.method, 0) + 1
    solver = {
        "mode": "online",
        "seconds": round(time.perf_counter() - started, 4),
        "decisions": methods,
        "bound_scope": "sum of per-order optimal costs given the stock left by earlier orders",
    }
    return assemble(orders, instance.rules, sum(d.bound for d in decisions), solver)
