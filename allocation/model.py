"""The allocation MIP: one order (online) or many orders sharing stock and capacity (batch).

Variables per order o: ``x[o,i,j]`` units of line i from candidate j, ``y[o,j]`` shipment opened,
plus what the planner rules need (kit source ``z``, primary shipment ``p``, breach slacks).
``x <= min(q, stock) * y`` is the strong form of the fixed-charge link, which keeps the LP bound
tight. Stock rows per (location, sku) and capacity rows per location are added only where the
candidates could exceed them. Backorders are the slack ``q - sum_j x``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from allocation.costs import OrderOptions
from allocation.evaluate import kits_of
from allocation.rules import Rules

MIP_BACKEND = "HIGHS"  # fastest of the bundled MIP solvers on these models (SCIP, CBC, CP-SAT)
SOLVER_SEED = 7


@dataclass(frozen=True)
class MipResult:
    units: list[np.ndarray]  # per order: (J, L) units
    objective: float
    bound: float
    optimal: bool
    status: str
    seconds: float


class _Builder:
    def __init__(self, rules: Rules, backend: str) -> None:
        self.rules = rules
        self.solver = pywraplp.Solver.CreateSolver(backend)
        self.objective: list[tuple[object, float]] = []
        self.constant = 0.0
        self.stock_rows: dict[tuple[int, str], list] = defaultdict(list)
        self.stock_limit: dict[tuple[int, str], int] = {}
        self.ship_rows: dict[int, list] = defaultdict(list)

    def add_order(self, o: int, opt: OrderOptions,
                  floor: float | None = None) -> dict[tuple[int, int], object]:
        """Add one order; ``floor`` (its standalone optimum) is a valid cut on its own cost."""
        s, rules = self.solver, self.rules
        first_term, constant = len(self.objective), self.constant
        J, L = opt.stock.shape
        y = [s.BoolVar(f"y{o}_{j}") for j in range(J)]
        x: dict[tuple[int, int], object] = {}
        for j in range(J):
            self.objective.append((y[j], float(opt.fixed[j])))
            self.ship_rows[int(opt.loc[j])].append(y[j])
            for i, line in enumerate(opt.order.lines):
                ub = int(min(opt.quantity[i], opt.stock[j, i]))
                if ub <= 0:
                    continue
                var = s.IntVar(0, ub, f"x{o}_{i}_{j}")
                x[i, j] = var
                s.Add(var <= ub * y[j])
                self.objective.append((var, float(opt.unit[j])))
                key = (int(opt.loc[j]), line.sku)
                self.stock_rows[key].append((var, ub))
                self.stock_limit[key] = int(opt.stock[j, i])
        for i in range(L):
            terms = [x[i, j] for j in range(J) if (i, j) in x]
            if terms:  # explicit backorders keep the objective positive (meaningful MIP gaps)
                backorder = s.NumVar(0, int(opt.quantity[i]), f"b{o}_{i}")
                self.objective.append((backorder, rules.backorder_penalty))
                s.Add(sum(terms) + backorder == int(opt.quantity[i]))
            else:
                self.constant += rules.backorder_penalty * float(opt.quantity[i])
        self._order_rules(o, opt, x, y)
        if floor is not None:
            own = sum(c * v for v, c in self.objective[first_term:])
            s.Add(own + (self.constant - constant) >= floor - 1e-6)
        return x

    def _order_rules(self, o: int, opt: OrderOptions, x: dict, y: list) -> None:
        s, rules = self.solver, self.rules
        J = len(y)
        limit = rules.max_shipments_per_order
        if limit is not None and limit.limit < J:
            if limit.mode == "hard":
                s.Add(sum(y) <= limit.limit)
            else:
                over = s.NumVar(0, J, f"over{o}")
                s.Add(sum(y) <= limit.limit + over)
                self.objective.append((over, limit.penalty))
        value_rule = self.rules.min_value_per_extra_shipment
        if value_rule is not None and J > 1:
            p = [s.BoolVar(f"p{o}_{j}") for j in range(J)]
            s.Add(sum(p) <= 1)
            for j in range(J):
                s.Add(p[j] <= y[j])
                value = sum(float(opt.price[i]) * x[i, j] for i in range(opt.stock.shape[1])
                            if (i, j) in x)
                slack = 0
                if value_rule.mode == "soft":
                    slack = s.BoolVar(f"v{o}_{j}")
                    self.objective.append((slack, value_rule.penalty))
                s.Add(value >= value_rule.limit * (y[j] - p[j] - slack))
        for kit, lines in kits_of(opt).items():
            self._kit(o, kit, lines, opt, x)

    def _kit(self, o: int, kit: str, lines: list[int], opt: OrderOptions, x: dict) -> None:
        s, rule = self.solver, self.rules.kits
        J = opt.stock.shape[0]
        z = [s.BoolVar(f"z{o}_{kit}_{j}") for j in range(J)]
        for j in range(J):
            for i in lines:
                q = int(opt.quantity[i])
                if rule.mode == "hard":
                    s.Add(x[i, j] == q * z[j]) if (i, j) in x else s.Add(z[j] == 0)
                elif (i, j) in x:
                    s.Add(x[i, j] <= q * z[j])
        if rule.mode == "hard":
            s.Add(sum(z) <= 1)
        else:
            extra = s.NumVar(0, J, f"kit{o}_{kit}")
            s.Add(sum(z) - 1 <= extra)
            self.objective.append((extra, rule.penalty))

    def add_resources(self, capacity: np.ndarray | None) -> None:
        for key, row in self.stock_rows.items():
            if sum(ub for _, ub in row) > self.stock_limit[key]:
                self.solver.Add(sum(v for v, _ in row) <= self.stock_limit[key])
        if capacity is None:
            return
        for n, row in self.ship_rows.items():
            if len(row) > capacity[n]:
                self.solver.Add(sum(row) <= int(capacity[n]))


def solve_mip(problems: list[OrderOptions], rules: Rules, time_limit_s: float,
              capacity: np.ndarray | None = None,
              hint: list[np.ndarray] | None = None, threads: int = 1,
              relative_gap: float = 1e-7, floors: list[float] | None = None,
              backend: str = MIP_BACKEND) -> MipResult:
    """Solve the orders jointly; ``capacity`` is shipments left per location (None: unbounded)."""
    started = time.perf_counter()
    builder = _Builder(rules, backend)
    xs = [builder.add_order(o, opt, None if floors is None else floors[o])
          for o, opt in enumerate(problems)]
    builder.add_resources(capacity)
    solver = builder.solver
    objective = solver.Objective()
    for var, coef in builder.objective:
        objective.SetCoefficient(var, objective.GetCoefficient(var) + coef)
    objective.SetOffset(builder.constant)
    objective.SetMinimization()
    if hint is not None and backend == "SCIP":  # HiGHS via pywraplp crashes on hints
        pairs = [(x[i, j], float(h[j, i])) for x, h in zip(xs, hint, strict=True)
                 for (i, j) in x]
        solver.SetHint([v for v, _ in pairs], [u for _, u in pairs])
    solver.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    solver.SetNumThreads(threads)
    solver.SuppressOutput()
    if backend == "HIGHS":
        quiet = "output_flag=false\nlog_to_console=false\n"
        solver.SetSolverSpecificParametersAsString(f"{quiet}random_seed={SOLVER_SEED}\n")
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, relative_gap)
    status = solver.Solve(params)
    found = status in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE)
    units = [_units(x, opt, found) for x, opt in zip(xs, problems, strict=True)]
    return MipResult(
        units=units,
        objective=objective.Value() if found else float("nan"),
        bound=objective.BestBound() if found else float("-inf"),
        optimal=status == pywraplp.Solver.OPTIMAL,
        status={0: "optimal", 1: "feasible", 2: "infeasible", 6: "not solved"}.get(status, "other"),
        seconds=time.perf_counter() - started,
    )


def _units(x: dict, opt: OrderOptions, found: bool) -> np.ndarray:
    units = np.zeros(opt.stock.shape, dtype=np.int64)
    if found:
        for (i, j), var in x.items():
            units[j, i] = round(var.solution_value())
    return units
