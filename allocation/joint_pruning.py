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

from allocation.components import Competition, competition
from allocation.costs import OrderOptions
from allocation.rules import Rules
from allocation.single import EPS, solve_order, unit_floor

ROUNDS = 3


def _safe(opt: OrderOptions, o: int, comp: Competition) -> OrderOptions:
    safe_stock = np.where(comp.binding_cells(o, opt.stock.shape), 0, opt.stock)
    keep = ~comp.busy_location[opt.loc] & (safe_stock.sum(axis=1) > 0)
    safe = OrderOptions(**{**opt.__dict__, "stock": safe_stock})
    return safe.subset(np.flatnonzero(keep))


def prune_jointly(
    problems: list[OrderOptions], capacity: np.ndarray, rules: Rules
) -> list[OrderOptions]:
    for _ in range(ROUNDS):
        comp = competition(problems, capacity)
        pruned = []
        for o, opt in enumerate(problems):
            if opt.size == 0:
                pruned.append(opt)
                continue
            ceiling = solve_order(_safe(opt, o, comp), rules).cost
            keep = opt.fixed + unit_floor(opt, rules) <= ceiling + EPS
            pruned.append(opt.subset(np.flatnonzero(keep)))
        if sum(p.size for p in pruned) == sum(p.size for p in problems):
            return pruned
        problems = pruned
    return problems
