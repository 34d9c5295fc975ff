"""Drop candidates no optimal joint plan needs, without losing optimality or the bound.

For each order, the best plan that uses only rows that cannot bind (stock rows and locations no
competition can exhaust) is always available to it, whatever the others do: any joint plan where
the order costs more can switch it to that safe plan and get cheaper. So the order's cost in an
optimal joint plan is at most that safe cost, and a candidate whose fixed cost plus the cheapest
possible cost of every unit exceeds it is never needed. Fewer candidates make fewer rows binding,
so the step is repeated a few times.
"""

from __future__ import annotations

import numpy as np

from allocation.components import binding_rows
from allocation.costs import OrderOptions
from allocation.rules import Rules
from allocation.single import EPS, solve_order, unit_floor

ROUNDS = 3


def _safe(opt: OrderOptions, o: int, stock: dict, ships: dict) -> OrderOptions:
    safe_stock = opt.stock.copy()
    for j, n in enumerate(opt.loc.tolist()):
        for i, line in enumerate(opt.order.lines):
            if o in stock.get((n, line.sku), ()):
                safe_stock[j, i] = 0
    keep = np.array([o not in ships.get(n, ()) for n in opt.loc.tolist()], dtype=bool)
    safe = OrderOptions(**{**opt.__dict__, "stock": safe_stock})
    return safe.subset(np.flatnonzero(keep & (safe_stock.sum(axis=1) > 0)))


def prune_jointly(problems: list[OrderOptions], capacity: np.ndarray,
                  rules: Rules) -> list[OrderOptions]:
    for _ in range(ROUNDS):
        stock, ships = binding_rows(problems, capacity)
        pruned = []
        for o, opt in enumerate(problems):
            if opt.size == 0:
                pruned.append(opt)
                continue
            ceiling = solve_order(_safe(opt, o, stock, ships), rules).cost
            keep = opt.fixed + unit_floor(opt, rules) <= ceiling + EPS
            pruned.append(opt.subset(np.flatnonzero(keep)))
        if sum(p.size for p in pruned) == sum(p.size for p in problems):
            return pruned
        problems = pruned
    return problems
