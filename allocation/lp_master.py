"""The joint LP over the candidates priced in so far: built once, grown by columns, re-solved warm.

Rows: each line's demand (sent + backordered = quantity), each order's cost cut (at least its
standalone optimum), stock rows and capacity rows where the orders' full candidate sets could
exceed them (created up front, so a candidate joining later finds its rows). Columns: per
candidate a shipment `y` in [0, 1] and per line the units `x <= u * y`, `u = min(quantity, stock)`.
The order's own rules (kits, shipment limits, minimum values) are not modelled: a bound without
them is lower, never wrong. GLOP keeps its basis between solves, so a round costs the new columns.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from allocation.costs import OrderOptions

LP_BACKEND = "GLOP"  # HiGHS-LP and PDLP gave no answer on the 2,000-order LP in 300 s
CUT_SLACK = 1e-6  # a standalone optimum is a float: the cut must never exclude it


@dataclass(frozen=True)
class Prices:
    """The LP's duals, by what they price."""

    demand: dict[tuple[int, int], float]  # (order, line): a unit of the line served
    stock: dict[tuple[int, str], float]  # (location index, sku): a unit of its stock (<= 0)
    ship: dict[int, float]  # location index: a shipment of its capacity (<= 0)
    cut: dict[int, float]  # order: its cost cut (>= 0)
    stock_limit: dict[tuple[int, str], int]  # the units each priced stock row allows


class Master:
    def __init__(
        self,
        problems: list[OrderOptions],
        floors: list[float],
        capacity: np.ndarray,
        penalty: float,
    ) -> None:
        self.problems = problems
        self.solver = pywraplp.Solver.CreateSolver(LP_BACKEND)
        self.columns: list[set[int]] = [set() for _ in problems]
        self.stock_limit = _binding_stock(problems)
        self.stock = {key: self._row(-self._inf, limit) for key, limit in self.stock_limit.items()}
        self.ship = {n: self._row(-self._inf, int(capacity[n])) for n in _busy(problems, capacity)}
        self.objective = self.solver.Objective()
        self.objective.SetMinimization()
        self.demand: dict[tuple[int, int], object] = {}
        self.cut: dict[int, object] = {}
        constant = 0.0
        for o, opt in enumerate(problems):
            served = np.minimum(opt.quantity[None, :], opt.stock).sum(axis=0) > 0
            unserved = penalty * float(opt.quantity[~served].sum())  # nobody can send these
            constant += unserved
            self.cut[o] = self._row(floors[o] - unserved - CUT_SLACK, self._inf)
            for i in np.flatnonzero(served):
                q = int(opt.quantity[i])
                backorder = self.solver.NumVar(0, q, "")
                self.demand[o, int(i)] = self._row(q, q, [(backorder, 1)])
                self._cost(o, backorder, penalty)
        self.objective.SetOffset(constant)

    @property
    def _inf(self) -> float:
        return self.solver.infinity()

    def _row(self, lb: float, ub: float, terms: list[tuple[object, float]] = ()) -> object:
        row = self.solver.Constraint(lb, ub)
        for var, coef in terms:
            row.SetCoefficient(var, coef)
        return row

    def _cost(self, o: int, var: object, cost: float) -> None:
        self.objective.SetCoefficient(var, cost)
        self.cut[o].SetCoefficient(var, cost)

    def add(self, o: int, candidates: np.ndarray) -> int:
        """Give order `o` these candidates (those it has already are skipped); returns how many
        joined."""
        opt, have = self.problems[o], self.columns[o]
        joined = 0
        for j in (int(j) for j in candidates if int(j) not in have):
            have.add(j)
            joined += 1
            n = int(opt.loc[j])
            ship = self.solver.NumVar(0, 1, "")
            self._cost(o, ship, float(opt.fixed[j]))
            if n in self.ship:
                self.ship[n].SetCoefficient(ship, 1)
            for i, line in enumerate(opt.order.lines):
                units = int(min(opt.quantity[i], opt.stock[j, i]))
                if units <= 0:
                    continue
                sent = self.solver.NumVar(0, units, "")
                self._cost(o, sent, float(opt.unit[j]))
                self._row(-self._inf, 0, [(sent, 1), (ship, -units)])
                self.demand[o, i].SetCoefficient(sent, 1)
                if (key := (n, line.sku)) in self.stock:
                    self.stock[key].SetCoefficient(sent, 1)
        return joined

    def solve(self, time_limit_s: float) -> tuple[float, Prices] | None:
        """The LP's value and prices, or None when GLOP did not reach the optimum in time."""
        self.solver.SetTimeLimit(max(1, int(time_limit_s * 1000)))
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        prices = Prices(
            demand={key: row.dual_value() for key, row in self.demand.items()},
            stock={key: row.dual_value() for key, row in self.stock.items()},
            ship={key: row.dual_value() for key, row in self.ship.items()},
            cut={key: row.dual_value() for key, row in self.cut.items()},
            stock_limit=self.stock_limit,
        )
        return self.objective.Value(), prices


def _binding_stock(problems: list[OrderOptions]) -> dict[tuple[int, str], int]:
    """Stock rows the orders' candidates could together exceed, with their limits."""
    wanted: dict[tuple[int, str], int] = defaultdict(int)
    limit: dict[tuple[int, str], int] = {}
    for opt in problems:
        units = np.minimum(opt.quantity[None, :], opt.stock)
        for j, i in zip(*np.nonzero(units), strict=True):
            key = (int(opt.loc[j]), opt.order.lines[i].sku)
            wanted[key] += int(units[j, i])
            limit[key] = int(opt.stock[j, i])
    return {key: limit[key] for key, units in wanted.items() if units > limit[key]}


def _busy(problems: list[OrderOptions], capacity: np.ndarray) -> list[int]:
    """Locations more orders could use than their capacity allows."""
    users = Counter(n for opt in problems for n in set(opt.loc.tolist()))
    return [n for n, count in users.items() if count > capacity[n]]
