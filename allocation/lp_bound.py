"""A lower bound on many orders planned jointly: the joint model's LP relaxation, priced.

The LP over every candidate of a few hundred contended orders is too large for a batch's time
(GLOP took 67 s on 670 orders and 347,000 variables). Few candidates matter, so the LP is solved
over a shortlist per order (allocation.shortlist), grown in place (allocation.lp_master), and
its prices are used twice:

- Lagrangian bound. The shared and per-order rows (line demand, stock, capacity, the cost cut
  of each order) are priced by the LP's duals and moved into the objective. What is left falls
  apart into one tiny problem per candidate shipment of *every* order (open it or not; send up to
  its units), solved exactly by a formula. The result is a valid lower bound whatever the
  prices, for the full candidate sets. The order's own rules (shipment limits, kits,
  minimum values) are dropped, which only lowers it.
- Column generation. A candidate outside the shortlist whose shipment has a negative reduced
  cost could lower the LP: the most negative join the shortlist and the LP is solved again. When
  none is left, the LP over the shortlist is the LP over every candidate, and the bound equals it.

Every round's bound is valid, so the best is kept when time runs out. The candidates the last
LP priced at no loss (its support, and ties) are where a good plan is likely to be found: batch
mode plans a contended set too large for its shortlists on them (allocation.batch).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocation.costs import OrderOptions
from allocation.lp_master import Master, Prices
from allocation.rules import Rules
from allocation.shortlist import shortlist

JOIN_PER_ROUND = 15  # candidates an order may gain per round (fewer rounds, each dearer)
EPS = 1e-7
SUPPORT_EPS = 1e-6  # every candidate the LP sends from has reduced cost 0: these and the ties


@dataclass(frozen=True)
class LpBound:
    value: float  # a valid lower bound on the joint cost of the orders
    exact: bool  # no candidate left to price in: the LP over every candidate was reached
    rounds: int
    seconds: float
    support: list[np.ndarray]  # per order, the candidates the last LP priced at no loss


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
    master = Master(problems, floors, capacity, penalty)
    for o, opt in enumerate(problems):
        master.add(o, shortlist(opt, set(), penalty))
    best, exact, rounds, support = float("-inf"), False, 0, []
    while not exact and time.perf_counter() < deadline:
        rounds += 1
        solved = master.solve(deadline - time.perf_counter())
        if solved is None:
            break
        prices = solved[1]
        stock, ship = _dense_prices(prices, len(capacity))
        reduced = [_reduced(opt, o, prices, stock, ship, penalty) for o, opt in enumerate(problems)]
        best = max(best, _lagrangian(problems, floors, capacity, prices, reduced, penalty))
        support = [np.flatnonzero(r.shipment <= SUPPORT_EPS) for r in reduced]
        exact = not _join(master, reduced)
    if best == float("-inf"):
        return None
    return LpBound(best, exact, rounds, time.perf_counter() - started, support)


@dataclass(frozen=True)
class _Reduced:
    """One order under the LP's prices."""

    shipment: np.ndarray  # (J,) least reduced cost of opening candidate j, sending what pays
    lines: float  # what its lines and cut add to the bound, whatever the shipments


def _dense_prices(prices: Prices, locations: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per SKU, the price of a unit of its stock at every location, and the price of a
    shipment at every location (0 where no row binds)."""
    stock: dict[str, np.ndarray] = {}
    for (n, sku), price in prices.stock.items():
        stock.setdefault(sku, np.zeros(locations))[n] = min(0.0, price)
    ship = np.zeros(locations)
    for n, price in prices.ship.items():
        ship[n] = min(0.0, price)
    return stock, ship


def _reduced(
    opt: OrderOptions,
    o: int,
    prices: Prices,
    stock: dict[str, np.ndarray],
    ship: np.ndarray,
    penalty: float,
) -> _Reduced:
    keep = 1.0 - max(0.0, prices.cut.get(o, 0.0))  # the cut prices the order's own costs
    lines = opt.order.lines
    demand = np.array([prices.demand.get((o, i), 0.0) for i in range(len(lines))])
    none = np.zeros(len(opt.loc))
    held = np.stack([stock[line.sku][opt.loc] if line.sku in stock else none for line in lines], 1)
    units = np.minimum(opt.quantity[None, :], opt.stock)
    per_unit = opt.unit[:, None] * keep - demand[None, :] - held
    sent = np.where(units > 0, units * np.minimum(per_unit, 0.0), 0.0).sum(axis=1)
    shipment = opt.fixed * keep - ship[opt.loc] + sent
    served = units.sum(axis=0) > 0
    unserved = penalty * float(opt.quantity[~served].sum())  # no candidate at all: backordered
    backorder = np.minimum(penalty * keep - demand, 0.0)
    total = float(((demand + backorder) * opt.quantity)[served].sum()) + unserved
    return _Reduced(shipment, total - (1.0 - keep) * unserved)


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


def _join(master: Master, reduced: list[_Reduced]) -> int:
    """Give each order its most negative candidates not yet in the LP; returns how many joined."""
    joined = 0
    for o, r in enumerate(reduced):
        priced = np.flatnonzero(r.shipment < -EPS)
        best = priced[np.argsort(r.shipment[priced], kind="stable")]
        fresh = [j for j in best.tolist() if j not in master.columns[o]][:JOIN_PER_ROUND]
        joined += master.add(o, np.array(fresh, dtype=int))
    return joined
