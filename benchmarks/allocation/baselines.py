"""The rules peers use, on the same instances and the same cost formula, so the gain is measured.

- Magento MSI "distance priority" source selection: sources sorted by distance to the address;
  each line takes what it can from the nearest source with stock, then the next.
- Shopify-style ranked rules: fewest locations first (one location that can fill the whole order,
  else greedily the location that covers most of what is left), ties to the closest.

Both see the same candidates as the engine (capabilities, hard exclusions and distance caps, stock
after store buffers, capacity), take orders in sequence and never oversell, so every plan is
feasible and priced by `allocation.plan` exactly like the engine's. Pickups: the pickup store's
shelf first (both products do so), then transfers by the same rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from allocation.costs import OrderOptions, order_options
from allocation.instance import Instance
from allocation.network import Remaining, compile_network
from allocation.online import commit
from allocation.plan import assemble, order_plan
from allocation.single import OrderDecision


def _nearest_first(opt: OrderOptions) -> np.ndarray:
    shelf = (opt.route == "shelf").astype(int)
    return np.lexsort((opt.distance_km, -shelf))


def magento_distance_priority(opt: OrderOptions) -> np.ndarray:
    """Line by line, from the nearest source with stock onward."""
    units = np.zeros_like(opt.stock)
    left_at = opt.stock.copy()
    for i, line in enumerate(opt.order.lines):
        need = int(opt.quantity[i])
        for j in _nearest_first(opt):
            take = min(need, int(left_at[j, i]))
            if take:
                units[j, i] = take
                need -= take
                same_sku = [k for k, other in enumerate(opt.order.lines) if other.sku == line.sku]
                left_at[j, same_sku] -= take
            if need == 0:
                break
    return units


def shopify_ranked_rules(opt: OrderOptions) -> np.ndarray:
    """Fewest locations first, then the closest."""
    units = np.zeros_like(opt.stock)
    need = opt.quantity.copy()
    stock = opt.stock.copy()
    skus = [line.sku for line in opt.order.lines]
    left = [int(j) for j in _nearest_first(opt)]
    while need.sum() > 0 and left:
        cover = {j: int(np.minimum(stock[j], need).sum()) for j in left}
        best = max(cover.values())
        if best == 0:
            break
        j = next(k for k in left if cover[k] == best)  # the closest among the best covers
        take = np.zeros_like(need)
        for i, sku in enumerate(skus):
            take[i] = min(int(stock[j, i]), int(need[i]))
            stock[j, [k for k, other in enumerate(skus) if other == sku]] -= take[i]
        units[j] += take
        need -= take
        left.remove(j)
    return units


def run_rule(
    instance: Instance, rule: Callable[[OrderOptions], np.ndarray], name: str
) -> dict[str, Any]:
    started = time.perf_counter()
    network = compile_network(instance)
    remaining = Remaining.of(network)
    orders = []
    for order in instance.orders:
        opt = order_options(order, network, remaining)
        units = rule(opt)
        commit(OrderDecision(opt, units, 0.0, 0.0, name), remaining)
        orders.append(order_plan(network, opt, units, instance.rules))
    solver = {"mode": name, "seconds": round(time.perf_counter() - started, 4)}
    return assemble(orders, instance.rules, 0.0, solver)
