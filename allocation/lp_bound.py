"""A lower bound on many orders planned jointly: the joint model's LP relaxation, priced.

The LP over every candidate of a few hundred contended orders is too large for a batch's time
(GLOP took 67 s on 670 orders and 347,000 variables). Few candidates matter, so the LP is solved
over a shortlist per order (allocation.shortlist) and its prices are used twice:

- Lagrangian bound. The shared and per-order rows (line demand, stock, capacity, the cost cut
  of each order) are priced by the LP's duals and moved into the objective. What is left falls
  apart into one tiny problem per candidate shipment of *every* order (open it or not; send up to
  its units), solved exactly by a formula. The result is a valid lower bound whatever the
  prices, for the full candidate sets. Rows of the order's own rules (shipment limits, kits,
  minimum values) are dropped, which only lowers it.
- Column generation. A candidate outside the shortlist whose shipment has a negative reduced
  cost could lower the LP: the most negative join the shortlist and the LP is solved again. When
  none is left, the LP over the shortlist is the LP over every candidate, and the bound equals it.

Every round's bound is valid, so the best is kept when time runs out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocation.costs import OrderOptions
from allocation.model import Prices, solve_lp
from allocation.rules import Rules
from allocation.shortlist import shortlist

JOIN_PER_ROUND = 6  # candidates an order may gain per round
EPS = 1e-7


@dataclass(frozen=True)
class LpBound:
    value: float  # a valid lower bound on the joint cost of the orders
    exact: bool  # no candidate left to price in: the LP over every candidate was reached
    rounds: int
    seconds: float


def lp_bound(
    problems: list[OrderOptions],
    floors: list[float],
    capacity: np.ndarray,
    rules: Rules,
    deadline: float,
) -> LpBound | None:
    """The best Lagrangian bound reached before `deadline` (None when no LP was solved).
    `floors`: each order's standalone optimum, a valid cut on its cost."""
    started = time.perf_counter()
    penalty = rules.backorder_penalty
    kept = [shortlist(opt, set(), penalty) for opt in problems]
    best, exact, rounds = float("-inf"), False, 0
    while not exact and time.perf_counter() < deadline:
        rounds += 1
        part = [opt.subset(k) for opt, k in zip(problems, kept, strict=True)]
        lp = solve_lp(part, rules, deadline - time.perf_counter(), capacity, floors)
        if not lp.optimal or lp.prices is None:
            break
        reduced = [_reduced(opt, o, lp.prices, penalty) for o, opt in enumerate(problems)]
        best = max(best, _lagrangian(problems, floors, capacity, lp.prices, reduced, penalty))
        exact = not _join(kept, reduced)
    if best == float("-inf"):
        return None
    return LpBound(best, exact, rounds, time.perf_counter() - started)


@dataclass(frozen=True)
class _Reduced:
    """One order under the LP's prices."""

    shipment: np.ndarray  # (J,) least reduced cost of opening candidate j, sending what pays
    lines: float  # what its lines and cut add to the bound, whatever the shipments


def _reduced(opt: OrderOptions, o: int, prices: Prices, penalty: float) -> _Reduced:
    keep = 1.0 - max(0.0, prices.cut.get(o, 0.0))  # the cut prices the order's own costs
    skus = [line.sku for line in opt.order.lines]
    demand = np.array([prices.demand.get((o, i), 0.0) for i in range(len(skus))])
    stock = np.zeros(opt.stock.shape)
    for i, sku in enumerate(skus):
        stock[:, i] = [min(0.0, prices.stock.get((int(n), sku), 0.0)) for n in opt.loc]
    ship = np.array([min(0.0, prices.ship.get(int(n), 0.0)) for n in opt.loc])
    units = np.minimum(opt.quantity[None, :], opt.stock)
    per_unit = opt.unit[:, None] * keep - demand[None, :] - stock
    shipment = (
        opt.fixed * keep
        - ship
        + np.where(units > 0, units * np.minimum(per_unit, 0.0), 0.0).sum(axis=1)
    )
    served = units.sum(axis=0) > 0
    unserved = penalty * float(opt.quantity[~served].sum())  # no candidate at all: backordered
    backorder = np.minimum(penalty * keep - demand, 0.0)
    lines = float(((demand + backorder) * opt.quantity)[served].sum()) + unserved
    return _Reduced(shipment, lines - (1.0 - keep) * unserved)


def _lagrangian(
    problems: list[OrderOptions],
    floors: list[float],
    capacity: np.ndarray,
    prices: Prices,
    reduced: list[_Reduced],
    penalty: float,
) -> float:
    """The bound at these prices over every candidate of every order."""
    total = 0.0
    for o, r in enumerate(reduced):
        cut = max(0.0, prices.cut.get(o, 0.0))
        total += float(np.minimum(r.shipment, 0.0).sum()) + r.lines + cut * floors[o]
    total += sum(min(0.0, p) * prices.stock_limit[key] for key, p in prices.stock.items())
    total += sum(min(0.0, p) * float(capacity[n]) for n, p in prices.ship.items())
    return total


def _join(kept: list[np.ndarray], reduced: list[_Reduced]) -> int:
    """Add each order's most negative candidates outside its shortlist; returns how many."""
    joined = 0
    for o, r in enumerate(reduced):
        outside = np.ones(len(r.shipment), dtype=bool)
        outside[kept[o]] = False
        candidates = np.flatnonzero(outside & (r.shipment < -EPS))
        if len(candidates):
            best = candidates[np.argsort(r.shipment[candidates], kind="stable")][:JOIN_PER_ROUND]
            kept[o] = np.union1d(kept[o], best)
            joined += len(best)
    return joined
