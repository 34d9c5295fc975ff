"""The exact decision for one order against the stock and capacity it sees.

Four steps, each exact:
1. Prune candidates that cannot be in an optimal plan: a location whose fixed cost alone, plus the
   cheapest possible cost of every unit, exceeds a known plan; and a location dominated by another
   that is no dearer (fixed and per unit) and can alone supply every line the first could supply.
2. Certify a one-shipment plan: the best plan with at most one shipment is optimal when it costs no
   more than the cheapest conceivable two-shipment plan (two smallest fixed costs plus every unit at
   its cheapest). This settles most orders in microseconds.
3. Otherwise, when a plan is fixed by its set of shipments (`_by_shipment_set`), search those sets
   exactly (`allocation.shipment_sets`, bounded by the incumbent): a few milliseconds for orders
   that need three or more shipments.
4. Otherwise, or past the search's budget, solve the order's MIP (`allocation.model`) on the
   pruned candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocation.costs import OrderOptions
from allocation.evaluate import kits_of, order_cost
from allocation.model import solve_mip
from allocation.rules import Rules
from allocation.shipment_sets import cheaper_plan, searchable

EPS = 1e-9
MAX_DOMINANCE_CANDIDATES = 250  # the pairwise test is quadratic; beyond this the MIP copes
MAX_PAIR_CANDIDATES = 600  # two-shipment plans are enumerated among at most this many


@dataclass(frozen=True)
class OrderDecision:
    options: OrderOptions
    units: np.ndarray  # (J, L)
    cost: float
    bound: float
    method: str


def unit_floor(options: OrderOptions, rules: Rules) -> float:
    cheapest = min(float(options.unit.min()), rules.backorder_penalty)
    return cheapest * float(options.quantity.sum())


def _sendable(options: OrderOptions, rules: Rules) -> np.ndarray:
    units = np.minimum(options.stock, options.quantity[None, :])
    units[options.unit >= rules.backorder_penalty] = 0
    return units


def _kit_costs(options: OrderOptions, rules: Rules, lines: list[int]) -> np.ndarray:
    """Cost of a complete kit at each candidate (inf where it is not complete there)."""
    full = np.all(options.stock[:, lines] >= options.quantity[lines][None, :], axis=1)
    kit_units = float(options.quantity[lines].sum())
    return np.where(
        full & (options.unit < rules.backorder_penalty), options.unit * kit_units, np.inf
    )


def _plans(options: OrderOptions, rules: Rules, a: np.ndarray, b: np.ndarray):  # type: ignore[no-untyped-def]
    """Best use of candidates a[p] and b[p] (b == a for a single shipment), vectorised over p.

    Units go to the cheaper of the two first, then the other, then backorder: optimal once the
    shipments are chosen, since costs are linear in units. A hard kit goes whole to one of them.
    """
    sendable, q, unit = _sendable(options, rules), options.quantity, options.unit
    kits = kits_of(options)
    free = np.ones(len(q), bool)
    for lines in kits.values():
        free[lines] = False
    first = np.where(unit[a] <= unit[b], a, b)
    second = a + b - first
    take1 = sendable[first] * free
    take2 = np.where((second != first)[:, None], np.minimum(sendable[second] * free, q - take1), 0)
    fixed = options.fixed[a] + np.where(b != a, options.fixed[b], 0.0)
    cost = (
        fixed
        + unit[first] * take1.sum(1)
        + unit[second] * take2.sum(1)
        + rules.backorder_penalty * ((q * free).sum() - take1.sum(1) - take2.sum(1))
    )
    kit_at = []
    for lines in kits.values():
        at = _kit_costs(options, rules, lines)
        choices = np.stack(
            [at[a], at[b], np.full(len(a), rules.backorder_penalty * float(q[lines].sum()))]
        )
        kit_at.append((lines, choices.argmin(axis=0)))
        cost = cost + choices.min(axis=0)
    return cost, first, second, take1, take2, kit_at


def _best_of(options: OrderOptions, rules: Rules, a: np.ndarray, b: np.ndarray):  # type: ignore[no-untyped-def]
    cost, first, second, take1, take2, kit_at = _plans(options, rules, a, b)
    p = int(np.argmin(cost))
    units = np.zeros_like(options.stock)
    units[first[p]] += take1[p]
    units[second[p]] += take2[p]
    for lines, pick in kit_at:
        if pick[p] < 2:
            units[(a, b)[pick[p]][p], lines] = options.quantity[lines]
    return float(order_cost(options, units, rules).total), units


def _pairs(options: OrderOptions, rules: Rules, incumbent: float) -> tuple[np.ndarray, ...]:
    """Pairs of candidates whose fixed costs alone leave room to beat the incumbent."""
    room = incumbent - unit_floor(options, rules) + EPS
    fixed = options.fixed
    light = np.flatnonzero(fixed + fixed.min() <= room)
    light = light[np.argsort(fixed[light], kind="stable")][:MAX_PAIR_CANDIDATES]
    a, b = np.triu_indices(len(light), 1)
    a, b = light[a], light[b]
    keep = fixed[a] + fixed[b] <= room
    return a[keep], b[keep]


def _best_within(
    options: OrderOptions, rules: Rules, shipments: int, incumbent: float = np.inf
) -> tuple[float, np.ndarray, bool]:
    """The best plan with at most ``shipments`` (1 or 2) shipments, or backordering everything,
    and whether the search was complete (every pair that could beat ``incumbent`` was tried)."""
    nothing = rules.backorder_penalty * float(options.quantity.sum())
    best = (nothing, np.zeros_like(options.stock))
    singles = np.arange(options.size)
    candidates = [(singles, singles)]
    complete = True
    if shipments >= 2 and options.size > 1:
        a, b = _pairs(options, rules, min(incumbent, nothing))
        room = min(incumbent, nothing) - unit_floor(options, rules) + EPS
        complete = int(np.sum(options.fixed + options.fixed.min() <= room)) <= MAX_PAIR_CANDIDATES
        candidates.append((a, b))
    for a, b in candidates:
        if len(a) == 0:
            continue
        found = _best_of(options, rules, np.asarray(a), np.asarray(b))
        if found[0] < best[0] - EPS:
            best = found
    return best[0], best[1], complete


def _assign(options: OrderOptions, rules: Rules, opened: list[int]) -> np.ndarray:
    """Units per line from the opened candidates, cheapest per unit first (distinct SKUs)."""
    units = np.zeros_like(options.stock)
    need = options.quantity.copy()
    for j in sorted(opened, key=lambda k: options.unit[k]):
        if options.unit[j] >= rules.backorder_penalty:
            continue
        units[j] = np.minimum(options.stock[j], need)
        need -= units[j]
    return units


def _greedy_cover(options: OrderOptions, rules: Rules) -> tuple[float, np.ndarray]:
    """A good plan fast: keep opening the location that saves most, while one saves anything.

    Only an incumbent for pruning: exactness comes from the bounds and the MIP after it.
    """
    need = options.quantity.astype(np.float64)
    opened: list[int] = []
    saving_per_unit = rules.backorder_penalty - options.unit
    for _ in range(len(need)):
        served = np.minimum(options.stock, need[None, :]).sum(axis=1)
        gain = saving_per_unit * served - options.fixed
        gain[opened] = -np.inf
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        opened.append(j)
        need -= np.minimum(options.stock[j], need)
    units = _assign(options, rules, opened)
    return float(order_cost(options, units, rules).total), units


def _words(flags: np.ndarray) -> np.ndarray:
    """Each row's flags packed into 64-bit words, so set tests are a few integer operations."""
    packed = np.packbits(flags, axis=1)
    padded = np.zeros((len(flags), -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(np.uint64)


def _dominated(options: OrderOptions) -> np.ndarray:
    """Candidate j is dominated by k when k is no dearer and covers every line j could serve."""
    skus = [line.sku for line in options.order.lines]
    need = np.array(
        [sum(q for s, q in zip(skus, options.quantity, strict=True) if s == sku) for sku in skus]
    )
    # covers[k, j]: no line that j serves is one k cannot cover alone. Lines are packed into bits
    # rather than multiplied as floats: a BLAS product spins its threads on a busy machine.
    short, serves = _words(options.stock < need[None, :]), _words(options.stock > 0)
    covers = ~np.any(short[:, None, :] & serves[None, :, :], axis=2)
    fixed, unit = options.fixed, options.unit
    no_dearer = (fixed[:, None] <= fixed[None, :] + EPS) & (unit[:, None] <= unit[None, :] + EPS)
    strictly = (fixed[:, None] < fixed[None, :] - EPS) | (unit[:, None] < unit[None, :] - EPS)
    order = np.arange(len(fixed))
    tie_first = order[:, None] < order[None, :]
    beats = covers & no_dearer & (strictly | tie_first)
    np.fill_diagonal(beats, False)
    return beats.any(axis=0)


def _floor_with(options: OrderOptions, rules: Rules) -> np.ndarray:
    """A lower bound on every plan that opens candidate j, for each j.

    Set-cover pricing: each line must be touched by a shipment (or backordered), and a shipment's
    fixed cost can be shared among the lines it can serve, so a line costs at least the cheapest
    such share plus its units at the cheapest unit cost. Lines j serves cost at least their units.
    """
    serves = options.stock > 0
    cheapest = min(float(options.unit.min()), rules.backorder_penalty)
    lines = np.maximum(serves.sum(axis=1), 1)
    share = np.where(serves, (options.fixed / lines)[:, None], np.inf).min(axis=0)
    q = options.quantity.astype(np.float64)
    per_line = np.minimum(rules.backorder_penalty * q, share + cheapest * q)
    return options.fixed + np.where(serves, cheapest * q[None, :], per_line[None, :]).sum(axis=1)


def _pruned(
    options: OrderOptions, rules: Rules, incumbent: float, units: np.ndarray
) -> tuple[OrderOptions, np.ndarray]:
    """Drop candidates no optimal plan uses; the incumbent's own shipments are always kept."""
    used = units.sum(axis=1) > 0
    keep = (_floor_with(options, rules) <= incumbent + EPS) | used
    if 1 < keep.sum() <= MAX_DOMINANCE_CANDIDATES:
        kept = np.flatnonzero(keep)
        keep[kept] &= ~_dominated(options.subset(kept)) | used[kept]
    kept = np.flatnonzero(keep)
    return options.subset(kept), units[kept]


def _enumerable(options: OrderOptions, rules: Rules) -> bool:
    """Orders whose best one- or two-shipment plan `_best_within` finds exactly."""
    distinct = len({line.sku for line in options.order.lines}) == len(options.order.lines)
    kits_ok = rules.kits.mode == "hard" or not kits_of(options)
    return distinct and kits_ok and rules.min_value_per_extra_shipment is None


def _shipment_limit(rules: Rules) -> float:
    limit = rules.max_shipments_per_order
    hard = limit is not None and limit.mode == "hard"
    return float(int(limit.limit)) if hard else float("inf")


def _by_shipment_set(options: OrderOptions, rules: Rules) -> bool:
    """Orders `allocation.shipment_sets` solves exactly: no kit, no binding shipment count."""
    limit = rules.max_shipments_per_order
    count_free = limit is None or limit.limit >= options.size
    plain = _enumerable(options, rules) and not kits_of(options)
    return plain and count_free and searchable(options)


def solve_order(options: OrderOptions, rules: Rules, time_limit_s: float = 5.0) -> OrderDecision:
    """The optimal plan of one order (or the MIP's best and its bound if time runs out)."""
    if options.size == 0:
        units = np.zeros((0, len(options.quantity)), dtype=np.int64)
        cost = order_cost(options, units, rules).total
        return OrderDecision(options, units, cost, cost, "nothing to allocate")
    enumerable = _enumerable(options, rules)
    incumbent = rules.backorder_penalty * float(options.quantity.sum())
    units = np.zeros_like(options.stock)
    if enumerable and not kits_of(options) and _shipment_limit(rules) >= options.size:
        incumbent, units = _greedy_cover(options, rules)
    for depth in (1, 2) if enumerable else ():
        depth = int(min(depth, _shipment_limit(rules)))
        found, plan, complete = _best_within(options, rules, depth, incumbent)
        if found < incumbent - EPS or depth >= _shipment_limit(rules):
            incumbent, units = found, plan
        options, units = _pruned(options, rules, incumbent, units)
        if not complete:
            break
        fixed = np.sort(options.fixed)
        if depth >= _shipment_limit(rules) or options.size <= depth:
            return OrderDecision(options, units, incumbent, incumbent, f"exact {depth}-shipment")
        if incumbent <= fixed[: depth + 1].sum() + unit_floor(options, rules) + EPS:
            return OrderDecision(options, units, incumbent, incumbent, f"{depth}-shipment bound")
    if not enumerable:
        options, units = _pruned(options, rules, incumbent, units)
    budget = ""
    if _by_shipment_set(options, rules):
        cheaper, complete = cheaper_plan(options, rules, incumbent)
        if cheaper is not None:
            incumbent, units = float(order_cost(options, cheaper, rules).total), cheaper
        if complete:
            return OrderDecision(options, units, incumbent, incumbent, "shipment-set search")
        budget = ", past the search budget"
    # The incumbent is a cutoff: the MIP only looks for strictly better plans.
    result = solve_mip(
        [options], rules, time_limit_s, hint=[units], cutoff=incumbent + 1e-6 * max(1.0, incumbent)
    )
    found = result.status in ("optimal", "feasible")
    cost = order_cost(options, result.units[0], rules).total if found else np.inf
    if cost < incumbent:
        incumbent, units = cost, result.units[0]
    if result.status == "optimal":
        bound = min(result.bound, incumbent)
    elif result.status == "infeasible":  # nothing beats the cutoff: the incumbent is optimal
        bound = incumbent
    else:  # out of time: a weaker but valid bound
        bound = min(float(_floor_with(options, rules).min()), incumbent)
    return OrderDecision(options, units, incumbent, bound, f"mip {result.status}{budget}")
