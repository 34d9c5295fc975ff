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
    """Builds the model through the solver's row API (the operator API is ten times slower)."""

    def __init__(self, rules: Rules, backend: str) -> None:
        self.rules = rules
        self.solver = pywraplp.Solver.CreateSolver(backend)
        self.inf = self.solver.infinity()
        self.objective: list[tuple[object, float]] = []
        self.constant = 0.0
        self.stock_rows: dict[tuple[int, str], list] = defaultdict(list)
        self.stock_limit: dict[tuple[int, str], int] = {}
        self.ship_rows: dict[int, list] = defaultdict(list)

    def row(self, lb: float, ub: float, terms: list[tuple[object, float]]) -> None:
        constraint = self.solver.Constraint(lb, ub)
        for var, coef in terms:
            constraint.SetCoefficient(var, coef)

    def add_order(
        self, o: int, opt: OrderOptions, floor: float | None = None
    ) -> dict[tuple[int, int], object]:
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
                self.row(-self.inf, 0, [(var, 1), (y[j], -ub)])
                self.objective.append((var, float(opt.unit[j])))
                key = (int(opt.loc[j]), line.sku)
                self.stock_rows[key].append((var, ub))
                self.stock_limit[key] = int(opt.stock[j, i])
        for i in range(L):
            terms = [(x[i, j], 1) for j in range(J) if (i, j) in x]
            if terms:  # explicit backorders keep the objective positive (meaningful MIP gaps)
                backorder = s.NumVar(0, int(opt.quantity[i]), f"b{o}_{i}")
                self.objective.append((backorder, rules.backorder_penalty))
                q = int(opt.quantity[i])
                self.row(q, q, [*terms, (backorder, 1)])
            else:
                self.constant += rules.backorder_penalty * float(opt.quantity[i])
        self._order_rules(o, opt, x, y)
        if floor is not None:
            self.row(
                floor - 1e-6 - (self.constant - constant), self.inf, self.objective[first_term:]
            )
        return x

    def _order_rules(self, o: int, opt: OrderOptions, x: dict, y: list) -> None:
        s, rules = self.solver, self.rules
        J = len(y)
        limit = rules.max_shipments_per_order
        if limit is not None and limit.limit < J:
            over = s.NumVar(0, J if limit.mode == "soft" else 0, f"over{o}")
            self.row(-self.inf, limit.limit, [*((v, 1) for v in y), (over, -1)])
            self.objective.append((over, limit.penalty))
        value_rule = self.rules.min_value_per_extra_shipment
        if value_rule is not None and J > 1:
            p = [s.BoolVar(f"p{o}_{j}") for j in range(J)]
            self.row(-self.inf, 1, [(v, 1) for v in p])
            V = value_rule.limit
            for j in range(J):
                self.row(-self.inf, 0, [(p[j], 1), (y[j], -1)])
                # value_j >= V * (y_j - p_j - slack_j)
                terms = [
                    (x[i, j], float(opt.price[i])) for i in range(opt.stock.shape[1]) if (i, j) in x
                ]
                slack = s.BoolVar(f"v{o}_{j}") if value_rule.mode == "soft" else None
                if slack is not None:
                    self.objective.append((slack, value_rule.penalty))
                    terms.append((slack, V))
                self.row(0, self.inf, [*terms, (y[j], -V), (p[j], V)])
        for kit, lines in kits_of(opt).items():
            self._kit(o, kit, lines, opt, x)

    def _kit(self, o: int, kit: str, lines: list[int], opt: OrderOptions, x: dict) -> None:
        s, rule = self.solver, self.rules.kits
        J = opt.stock.shape[0]
        z = [s.BoolVar(f"z{o}_{kit}_{j}") for j in range(J)]
        for j in range(J):
            for i in lines:
                q = int(opt.quantity[i])
                if rule.mode == "hard" and (i, j) not in x:
                    self.row(0, 0, [(z[j], 1)])
                elif rule.mode == "hard":
                    self.row(0, 0, [(x[i, j], 1), (z[j], -q)])
                elif (i, j) in x:
                    self.row(-self.inf, 0, [(x[i, j], 1), (z[j], -q)])
        if rule.mode == "hard":
            self.row(-self.inf, 1, [(v, 1) for v in z])
        else:
            extra = s.NumVar(0, J, f"kit{o}_{kit}")
            self.row(-self.inf, 1, [*((v, 1) for v in z), (extra, -1)])
            self.objective.append((extra, rule.penalty))

    def add_resources(self, capacity: np.ndarray | None) -> None:
        for key, row in self.stock_rows.items():
            if sum(ub for _, ub in row) > self.stock_limit[key]:
                self.row(-self.inf, self.stock_limit[key], [(v, 1) for v, _ in row])
        if capacity is None:
            return
        for n, row in self.ship_rows.items():
            if len(row) > capacity[n]:
                self.row(-self.inf, int(capacity[n]), [(v, 1) for v in row])


def solve_mip(
    problems: list[OrderOptions],
    rules: Rules,
    time_limit_s: float,
    capacity: np.ndarray | None = None,
    hint: list[np.ndarray] | None = None,
    threads: int = 1,
    relative_gap: float = 1e-7,
    floors: list[float] | None = None,
    cutoff: float | None = None,
    backend: str = MIP_BACKEND,
) -> MipResult:
    """Solve the orders jointly; ``capacity`` is shipments left per location (None: unbounded)."""
    started = time.perf_counter()
    builder = _Builder(rules, backend)
    xs = [
        builder.add_order(o, opt, None if floors is None else floors[o])
        for o, opt in enumerate(problems)
    ]
    builder.add_resources(capacity)
    solver = builder.solver
    objective = solver.Objective()
    for var, coef in builder.objective:
        objective.SetCoefficient(var, objective.GetCoefficient(var) + coef)
    objective.SetOffset(builder.constant)
    objective.SetMinimization()
    if hint is not None and backend == "SCIP":  # HiGHS via pywraplp crashes on hints
        pairs = [(x[i, j], float(h[j, i])) for x, h in zip(xs, hint, strict=True) for (i, j) in x]
        solver.SetHint([v for v, _ in pairs], [u for _, u in pairs])
    solver.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    solver.SetNumThreads(threads)
    solver.SuppressOutput()
    if backend == "HIGHS":
        quiet = "output_flag=false\nlog_to_console=false\n"
        extra = "" if cutoff is None else f"objective_bound={cutoff}\n"
        solver.SetSolverSpecificParametersAsString(f"{quiet}random_seed={SOLVER_SEED}\n{extra}")
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
