"""Batch mode: all orders jointly against shared stock and capacity, with a valid lower bound.

Orders only interact through stock per (location, SKU) and shipments per location, and on realistic
instances most orders never compete. So the batch is decomposed rather than solved as one model:

1. Every order is solved alone against the full stock (`allocation.single`, exact). Each optimum
   is a lower bound on that order's cost in any joint plan, because the others only take resources.
2. Resources the standalone plans overuse mark the *contended* orders. Only those are re-planned,
   jointly, by the MIP of `allocation.model`, split into independent components (orders linked by a
   stock or capacity row that can bind). The MIP keeps, per order, its `CANDIDATES_PER_ORDER`
   best candidates (by one-shipment cost) plus those of its standalone optimum: the full candidate
   sets make models ten to fifty times larger and rarely change the answer.
3. If the joint answer collides with an uncontended order's plan, that order joins the contended set
   and step 2 repeats (a few rounds at most).
4. When the contended set is too large for one model (thousands of orders competing for the same
   scarce SKUs: one component), or the rounds do not settle, the batch starts from the online plan
   (feasible, and never worse than it) and improves it by a large-neighbourhood search over the
   contended orders: neighbourhoods of `CHUNK_ORDERS` orders (1-degree cells) are freed one at a
   time and re-planned jointly against everything else, and kept when cheaper. HiGHS did not solve the 3,000-order component of the 10,000-order benchmark in
   100 s, while 150-order neighbourhoods solve in well under a second each.

The lower bound is valid for the whole instance: the uncontended orders' optima plus, for the
contended set, the LP relaxation over *all* their candidates (after the exact pruning of
`allocation.joint_pruning`) and full resources, strengthened by one cut per order (its cost is at
least its standalone optimum), solved by pricing candidates into a shortlist (`allocation.lp_bound`):
when time runs out first, the Lagrangian bound at the prices reached (still valid, less tight).
The gap reported is the distance to that bound.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np

from allocation.components import components
from allocation.costs import OrderOptions, order_options
from allocation.evaluate import order_cost
from allocation.instance import Instance, PickupAt
from allocation.joint_pruning import prune_jointly
from allocation.lp_bound import LpBound, lp_bound
from allocation.lp_master import LP_BACKEND
from allocation.model import solve_mip
from allocation.network import Network, Remaining, compile_network
from allocation.online import commit, decide_in_sequence
from allocation.plan import assemble, order_plan
from allocation.shortlist import CANDIDATES_PER_ORDER, shortlist
from allocation.single import OrderDecision, solve_order

MAX_ROUNDS = 4
MAX_JOINT_VARIABLES = 60_000  # a larger contended set is planned neighbourhood by neighbourhood
MAX_GUIDED_VARIABLES = MAX_JOINT_VARIABLES  # the same MIP, on the candidates the LP uses
GUIDE_MAX_ORDERS = 1_500  # larger contended sets go to the neighbourhood search directly
GUIDE_SHARE = 0.5  # of the joint time left, for the LP that guides a large contended set
CHUNK_ORDERS = 150
MAX_PASSES = 6
TIME_SHARE_SOLVING = 0.75  # of the time limit, for solver calls (each overruns a little)
TIME_SHARE_BOUND = 0.3  # of the time limit, kept for the lower bound ...
MAX_BOUND_SECONDS = 40.0  # ... but no more than this
MAX_EXACT_VARIABLES = 40_000  # a component this small gets its bound from the full-candidate MIP

Plans = dict[int, tuple[OrderOptions, np.ndarray]]


def _usage(
    network: Network,
    plans: dict[int, tuple[OrderOptions, np.ndarray]],
) -> tuple[Counter, Counter]:
    stock: Counter[tuple[int, str]] = Counter()
    ships: Counter[int] = Counter()
    for opt, units in plans.values():
        for j in np.flatnonzero(units.sum(axis=1) > 0):
            n = int(opt.loc[j])
            ships[n] += 1
            for i, line in enumerate(opt.order.lines):
                stock[(n, line.sku)] += int(units[j, i])
    return stock, ships


def _colliding(
    network: Network, full: Remaining, plans: dict[int, tuple[OrderOptions, np.ndarray]]
) -> set[int]:
    """Orders whose plan uses a resource that the plans together overuse."""
    stock, ships = _usage(network, plans)
    over_stock = {key for key, used in stock.items() if used > full.units(*key)}
    over_ships = {n for n, used in ships.items() if used > full.capacity[n]}
    hit = set()
    for o, (opt, units) in plans.items():
        for j in np.flatnonzero(units.sum(axis=1) > 0):
            n = int(opt.loc[j])
            if n in over_ships or any(
                (n, line.sku) in over_stock and units[j, i]
                for i, line in enumerate(opt.order.lines)
            ):
                hit.add(o)
    return hit


def _restrict(opt: OrderOptions, used: set[int], penalty: float) -> OrderOptions:
    """The order's shortlist (allocation.shortlist) plus the locations in ``used``."""
    return opt.subset(shortlist(opt, used, penalty))


def _guide(
    pruned: list[OrderOptions],
    floors: list[float],
    capacity: np.ndarray,
    instance: Instance,
    deadline: float,
) -> LpBound | None:
    """The contended orders' LP, in at most half the joint time left: its support guides the plan."""
    now = time.perf_counter()
    return lp_bound(pruned, floors, capacity, instance.rules, now + GUIDE_SHARE * (deadline - now))


def _supported(opt: OrderOptions, support: np.ndarray, used: set[int]) -> OrderOptions:
    """The candidates the LP uses (and its ties), plus the locations of the order's own optimum."""
    keep = {int(j) for j in support} | {j for j in range(opt.size) if int(opt.loc[j]) in used}
    return opt.subset(np.array(sorted(keep), dtype=int))


def _repair(instance: Instance, network: Network, trial: Plans, members: list[int]) -> Plans:
    """A feasible plan from a joint answer that collided: the members keep theirs; every other
    order keeps its own where what is left still allows it, else is decided again on what is left."""
    residual = Remaining.of(network)
    for o in members:
        commit(OrderDecision(*trial[o], 0.0, 0.0, ""), residual)
    repaired = dict(trial)
    in_set = set(members)
    for o in range(len(instance.orders)):
        if o in in_set:
            continue
        if not _fits(trial[o], residual):
            decision = solve_order(
                order_options(instance.orders[o], network, residual), instance.rules
            )
            repaired[o] = (decision.options, decision.units)
        commit(OrderDecision(*repaired[o], 0.0, 0.0, ""), residual)
    return repaired


def _fits(plan: tuple[OrderOptions, np.ndarray], residual: Remaining) -> bool:
    """What is left still allows this plan: a shipment at each location it opens, its units."""
    opt, units = plan
    for j in np.flatnonzero(units.sum(axis=1) > 0):
        n = int(opt.loc[j])
        wanted: Counter[str] = Counter()
        for i, line in enumerate(opt.order.lines):
            wanted[line.sku] += int(units[j, i])
        if residual.capacity[n] < 1 or any(
            units_ > residual.units(n, sku) for sku, units_ in wanted.items()
        ):
            return False
    return True


def _total(plans: Plans, rules: Any) -> float:
    return sum(order_cost(opt, units, rules).total for opt, units in plans.values())


def _used(decision: OrderDecision) -> set[int]:
    return {int(n) for n in decision.options.loc[decision.units.sum(axis=1) > 0]}


class _Joint:
    """The contended orders re-planned together, component by component."""

    def __init__(self, instance: Instance, deadline: float) -> None:
        self.instance, self.deadline = instance, deadline
        self.mip_seconds = 0.0
        self.statuses: Counter[str] = Counter()
        self.bound = 0.0  # sum of the MIP bounds of the last solve's components

    def solve(
        self, problems: list[OrderOptions], capacity: np.ndarray, share_of_time_left: float
    ) -> list[np.ndarray] | None:
        units: list[np.ndarray] = [np.zeros_like(p.stock) for p in problems]
        total = sum(p.size for p in problems) or 1
        self.bound = 0.0
        for group in components(problems, capacity):
            share = share_of_time_left * sum(problems[o].size for o in group) / total
            budget = max(0.2, (self.deadline - time.perf_counter()) * share)
            result = solve_mip(
                [problems[o] for o in group],
                self.instance.rules,
                budget,
                capacity=capacity,
                threads=2,
            )
            self.mip_seconds += result.seconds
            self.statuses[result.status] += 1
            if result.status not in ("optimal", "feasible"):
                return None
            for o, u in zip(group, result.units, strict=True):
                units[o] = u
            self.bound += result.bound
        return units


def _standalone(instance: Instance, network: Network, full: Remaining):  # type: ignore[no-untyped-def]
    options = [order_options(order, network, full) for order in instance.orders]
    decisions = [solve_order(opt, instance.rules) for opt in options]
    return options, decisions


def _variables(problems: list[OrderOptions]) -> int:
    return sum(int((p.stock > 0).sum()) + p.size for p in problems)


def _place(instance: Instance, network: Network, o: int) -> tuple[float, float]:
    delivery = instance.orders[o].delivery
    if isinstance(delivery, PickupAt):
        n = network.index[delivery.store]
        return float(network.lat[n]), float(network.lon[n])
    return delivery.lat, delivery.lon


def _chunks(instance: Instance, network: Network, members: list[int]) -> list[list[int]]:
    """Contended orders cut into neighbourhoods (1-degree cells), at most CHUNK_ORDERS each."""

    def cell(o: int) -> tuple[int, int, float]:
        lat, lon = _place(instance, network, o)
        return int(np.floor(lat)), int(np.floor(lon)), lat

    ordered = sorted(members, key=cell)
    return [ordered[k : k + CHUNK_ORDERS] for k in range(0, len(ordered), CHUNK_ORDERS)]


def _release(plan: tuple[OrderOptions, np.ndarray], residual: Remaining) -> None:
    opt, units = plan
    for j in np.flatnonzero(units.sum(axis=1) > 0):
        n = int(opt.loc[j])
        residual.capacity[n] += 1
        for i, line in enumerate(opt.order.lines):
            residual.stock[line.sku][n] += int(units[j, i])


def _improve(
    instance: Instance, network: Network, joint: _Joint, members: list[int], plans: Plans
) -> None:
    """Large-neighbourhood search: free one neighbourhood at a time, re-plan it jointly against
    everything else, keep it if cheaper; passes alternate aligned and half-shifted neighbourhoods
    (so neighbours meet) until the time is spent or a pass finds nothing."""
    residual = Remaining.of(network)
    for plan in plans.values():
        commit(OrderDecision(*plan, 0.0, 0.0, ""), residual)
    flat = [o for chunk in _chunks(instance, network, members) for o in chunk]
    for offset in [0, CHUNK_ORDERS // 2] * (MAX_PASSES // 2):
        starts = [0, *range(offset or CHUNK_ORDERS, len(flat), CHUNK_ORDERS)]
        bounds = zip(starts, [*starts[1:], len(flat)], strict=True)
        improved = [
            _improve_chunk(instance, network, joint, flat[a:b], plans, residual, len(flat))
            for a, b in bounds
        ]
        if not any(improved) or time.perf_counter() > joint.deadline:
            return


def _improve_chunk(
    instance: Instance,
    network: Network,
    joint: _Joint,
    chunk: list[int],
    plans: Plans,
    residual: Remaining,
    total: int,
) -> bool:
    if not chunk or time.perf_counter() > joint.deadline:
        return False
    rules = instance.rules
    before = sum(order_cost(*plans[o], rules).total for o in chunk)
    for o in chunk:
        _release(plans[o], residual)
    problems = [
        _restrict(
            order_options(instance.orders[o], network, residual),
            _used_plan(plans[o]),
            rules.backorder_penalty,
        )
        for o in chunk
    ]
    units = joint.solve(problems, residual.capacity, 2.0 * len(chunk) / total)
    after = (
        None
        if units is None
        else sum(order_cost(p, u, rules).total for p, u in zip(problems, units, strict=True))
    )
    better = after is not None and after < before - 1e-6
    if better:
        joint.statuses["neighbourhood improved"] += 1
        plans.update({o: (p, u) for o, p, u in zip(chunk, problems, units, strict=True)})
    for o in chunk:
        commit(OrderDecision(*plans[o], 0.0, 0.0, ""), residual)
    return better


def _used_plan(plan: tuple[OrderOptions, np.ndarray]) -> set[int]:
    opt, units = plan
    return {int(n) for n in opt.loc[units.sum(axis=1) > 0]}


def _component_bound(
    part: list[OrderOptions],
    floors: list[float],
    capacity: np.ndarray,
    instance: Instance,
    deadline: float,
) -> tuple[float, str]:
    """The LP relaxation first (priced, allocation.lp_bound), then the full-candidate MIP's
    bound if the component is small and time is left."""
    size, best, kind = _variables(part), sum(floors), "standalone"
    if deadline > time.perf_counter():
        lp = lp_bound(part, floors, capacity, instance.rules, deadline)
        if lp is not None and lp.value > best:
            best, kind = lp.value, "lp" if lp.exact else "lagrangian"
    if size <= MAX_EXACT_VARIABLES and deadline - time.perf_counter() > 1.0:
        mip = solve_mip(
            part,
            instance.rules,
            deadline - time.perf_counter(),
            capacity=capacity,
            floors=floors,
            threads=2,
        )
        if mip.status in ("optimal", "feasible") and mip.bound > best:
            best, kind = mip.bound, "mip"
    return best, kind


def _set_bound(
    problems: list[OrderOptions],
    floors: list[float],
    capacity: np.ndarray,
    instance: Instance,
    deadline: float,
) -> tuple[float, str]:
    """A valid lower bound on the joint cost of these orders alone with all resources.

    Component by component: the LP relaxation with per-order cuts over every candidate (or, when
    time runs out first, the Lagrangian bound at the prices reached), the MIP bound over all
    candidates where the component is small and beats it, else the sum of the standalone optima.
    """
    total, kinds = 0.0, Counter()
    groups = sorted(components(problems, capacity), key=len)  # the small ones cost little
    sizes = [_variables([problems[o] for o in group]) for group in groups]
    left = sum(sizes)
    for group, size in zip(groups, sizes, strict=True):  # each its share of the time left
        now = time.perf_counter()
        until = now + max(0.0, deadline - now) * (size / left if left else 1.0)
        left -= size
        bound, kind = _component_bound(
            [problems[o] for o in group], [floors[o] for o in group], capacity, instance, until
        )
        total += bound
        kinds[kind] += 1
    names = {
        "mip": "full-candidate MIP bound",
        "lp": "LP relaxation with per-order cuts",
        "lagrangian": "Lagrangian bound at the LP's prices (time ran out)",
        "standalone": "sum of standalone optima",
    }
    return total, "; ".join(f"{names[k]} for {n} component(s)" for k, n in kinds.items())


def allocate_batch(instance: Instance, time_limit_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    deadline = started + TIME_SHARE_SOLVING * time_limit_s  # the rest: model building, the plan
    network = compile_network(instance)
    full = Remaining.of(network)
    options, decisions = _standalone(instance, network, full)
    plans: Plans = {o: (d.options, d.units) for o, d in enumerate(decisions)}
    joint = _Joint(instance, deadline - min(TIME_SHARE_BOUND * time_limit_s, MAX_BOUND_SECONDS))
    contended = _colliding(network, full, plans)
    penalty = instance.rules.backorder_penalty
    members: list[int] = []
    pruned: list[OrderOptions] = []
    rounds, settled, mip_bound = 0, not contended, float("-inf")
    guided: tuple[list[int], LpBound] | None = None  # the members' LP, kept for the bound
    incumbent: Plans | None = None  # a joint answer that collided, made feasible
    while contended and rounds < MAX_ROUNDS and time.perf_counter() < joint.deadline:
        rounds += 1
        members = sorted(contended)
        pruned = prune_jointly([options[o] for o in members], full.capacity, instance.rules)
        floors = [decisions[o].bound for o in members]
        mip_bound = float("-inf")
        used = [_used(decisions[o]) for o in members]
        problems = [_restrict(p, u, penalty) for p, u in zip(pruned, used, strict=True)]
        if _variables(problems) > MAX_JOINT_VARIABLES and len(members) > GUIDE_MAX_ORDERS:
            break  # its LP alone would take the time the neighbourhood search needs
        if _variables(problems) > MAX_JOINT_VARIABLES:  # plan on the candidates the LP uses
            lp = _guide(pruned, floors, full.capacity, instance, joint.deadline)
            if lp is None:
                break
            guided = (members, lp)
            problems = [
                _supported(p, s, u) for p, s, u in zip(pruned, lp.support, used, strict=True)
            ]
            if _variables(problems) > MAX_JOINT_VARIABLES:
                break
        units = joint.solve(problems, full.capacity, 1.0 / (MAX_ROUNDS - rounds + 1))
        if units is None:
            break
        complete = all(p.size == q.size for p, q in zip(problems, pruned, strict=True))
        mip_bound = joint.bound if complete else float("-inf")
        trial = dict(plans)
        trial.update({o: (p, u) for o, p, u in zip(members, problems, units, strict=True)})
        collide = _colliding(network, full, trial)
        if not collide:
            plans, settled = trial, True
            break
        repaired = _repair(instance, network, trial, members)
        if incumbent is None or _total(repaired, instance.rules) < _total(
            incumbent, instance.rules
        ):
            incumbent = repaired
        contended |= collide
    if not settled:  # start from the online plan (feasible, good), improve it where contended
        online = decide_in_sequence(instance, network, Remaining.of(network))
        plans = {o: (d.options, d.units) for o, d in enumerate(online)}
        if incumbent is not None and _total(incumbent, instance.rules) < _total(
            plans, instance.rules
        ):
            plans = incumbent
        _improve(instance, network, joint, sorted(contended), plans)
    assert not _colliding(network, full, plans), "batch plan overuses a resource"
    if contended and not members:  # too many for one MIP: the bound still covers them all
        members = sorted(contended)
        pruned = prune_jointly([options[o] for o in members], full.capacity, instance.rules)
    floors = [decisions[o].bound for o in members]
    kept = guided[1] if guided is not None and guided[0] == members else None
    if kept is not None and kept.exact:  # the guiding LP reached every candidate: it is the bound
        set_bound, scope = kept.value, "LP relaxation with per-order cuts, from the guiding LP"
    else:
        set_bound, scope = _set_bound(pruned, floors, full.capacity, instance, deadline)
        if kept is not None and kept.value > set_bound:
            set_bound, scope = kept.value, "Lagrangian bound of the guiding LP"
    if mip_bound > set_bound:  # the MIP saw every candidate: its own bound is valid and tighter
        set_bound, scope = mip_bound, "MIP bound over all their candidates"
    in_set = set(members)
    lower_bound = set_bound + sum(d.bound for o, d in enumerate(decisions) if o not in in_set)
    orders = [order_plan(network, *plans[o], instance.rules) for o in range(len(instance.orders))]
    solver = {
        "mode": "batch",
        "seconds": round(time.perf_counter() - started, 4),
        "time_limit_s": time_limit_s,
        "mip_backend": "HiGHS",
        "lp_backend": LP_BACKEND,
        "orders": len(orders),
        "contended_orders": len(contended),
        "rounds": rounds,
        "settled_jointly": settled,
        "mip_seconds": round(joint.mip_seconds, 4),
        "mip_status": dict(joint.statuses),
        "candidates_per_order": CANDIDATES_PER_ORDER,
        "bound_scope": "whole instance: standalone optimum of each order, and for the contended "
        f"orders ({len(members)}) the {scope}",
    }
    return assemble(orders, instance.rules, lower_bound, solver)
