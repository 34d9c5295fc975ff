"""The exact best plan of one order: a pruned search over which candidates open a shipment.

Why: orders that need three or more shipments escape the one- and two-shipment bounds, and a
general MIP takes 10-600 ms on them. When every line has its own SKU and no kit, value or
shipment-count rule applies, a plan is fixed by its set of shipments: each line is served from the
opened candidate with the cheapest unit cost first, as far as its stock goes, then the next, and
the rest is backordered (costs are linear in units and lines do not interact). So the candidates
are taken in order of unit cost, each opened (it then takes all it can of what is still needed) or
not, and partial plans that reach the same units-still-needed keep only the cheapest (a dynamic
programme). A partial plan is dropped when its cost plus a lower bound on finishing it cannot beat
the incumbent; the bound (`_touch_bounds`) is an exact set cover of the lines still needed,
computed once over every subset of lines, which is what makes three- and four-shipment plans cheap
to certify.
"""

from __future__ import annotations

import numpy as np

from allocation.costs import OrderOptions
from allocation.rules import Rules

MAX_LINES = 12  # the bound tables hold every subset of lines: 4096 per candidate
MAX_STATES = 200_000  # partial plans kept over all candidates; past this the caller uses the MIP
EPS = 1e-9


def _sendable(options: OrderOptions, rules: Rules) -> np.ndarray:
    """Units of each line each candidate could send (none where a unit costs a backorder)."""
    units = np.minimum(options.stock, options.quantity[None, :])
    units[options.unit >= rules.backorder_penalty] = 0
    return units


def searchable(options: OrderOptions) -> bool:
    """Few enough lines for the bound tables, and needs that fit one int64 key."""
    top = np.log2(options.quantity.astype(np.float64) + 1).sum()
    return options.stock.shape[1] <= MAX_LINES and top < 62


def _touch_bounds(sendable: np.ndarray, order: list[int], fixed: np.ndarray, pen: float):  # type: ignore[no-untyped-def]
    """bound[k, mask]: least fixed cost, over candidates order[k:], of touching every line in
    ``mask``, a line left untouched costing ``pen`` (at least one of its units is backordered)."""
    lines = sendable.shape[1]
    masks = np.arange(1 << lines)
    bits = 1 << np.arange(lines)
    bound = np.empty((len(order) + 1, 1 << lines))
    bound[-1] = pen * ((masks[:, None] & bits[None, :]) > 0).sum(axis=1)
    for k in range(len(order) - 1, -1, -1):
        touch = int(bits[sendable[order[k]] > 0].sum())
        bound[k] = np.minimum(bound[k + 1], fixed[order[k]] + bound[k + 1][masks & ~touch])
    return bound, bits


def cheaper_plan(
    options: OrderOptions, rules: Rules, incumbent: float
) -> tuple[np.ndarray | None, bool]:
    """Units (J, L) of an optimal plan if it costs less than ``incumbent`` (else None), and
    whether the search finished within ``MAX_STATES`` (if not, nothing is proven)."""
    sendable = _sendable(options, rules)
    penalty = rules.backorder_penalty
    top = np.minimum(options.quantity, sendable.sum(axis=0))
    ceiling = incumbent - penalty * float((options.quantity - top).sum()) - EPS
    order = [int(j) for j in np.lexsort((options.fixed, options.unit)) if sendable[j].any()]
    unit = np.append(options.unit[order], penalty)  # cheapest unit cost left at each step
    pen = penalty - float(unit[:-1].max(initial=0.0))
    bound, bits = _touch_bounds(sendable, order, options.fixed, pen)
    bound[-1] = 0.0  # after the last candidate the rest is backordered: ``unit`` says so exactly
    radix = np.cumprod(np.concatenate(([1], top[:-1] + 1))).astype(np.int64)
    need, cost = top[None, :].copy(), np.zeros(1)
    steps, kept = [], 0
    for k, j in enumerate(order):
        need, cost, parent, opened = _children(need, cost, sendable[j], options, j)
        lower = unit[k + 1] * need.sum(axis=1) + bound[k + 1][(need > 0).astype(np.int64) @ bits]
        alive = _cheapest_per_need(need, cost, np.flatnonzero(cost + lower < ceiling), radix)
        if len(alive) == 0:
            return None, True
        need, cost = need[alive], cost[alive]
        steps.append((parent[alive], opened[alive]))
        kept += len(alive)
        if kept > MAX_STATES:
            return None, False
    total = cost + penalty * need.sum(axis=1)
    best = int(np.argmin(total)) if len(total) else -1
    if best < 0 or total[best] >= ceiling:
        return None, True
    return _replay(options, sendable, order, steps, best, top), True


def _children(
    need: np.ndarray, cost: np.ndarray, sendable: np.ndarray, options: OrderOptions, j: int
) -> tuple[np.ndarray, ...]:
    """Every partial plan without candidate j, then with it wherever it sends anything."""
    take = np.minimum(need, sendable[None, :])
    sent = take.sum(axis=1)
    useful = np.flatnonzero(sent > 0)
    opened_cost = cost[useful] + options.fixed[j] + options.unit[j] * sent[useful]
    return (
        np.concatenate([need, need[useful] - take[useful]]),
        np.concatenate([cost, opened_cost]),
        np.concatenate([np.arange(len(sent)), useful]),
        np.arange(len(sent) + len(useful)) >= len(sent),
    )


def _cheapest_per_need(
    need: np.ndarray, cost: np.ndarray, alive: np.ndarray, radix: np.ndarray
) -> np.ndarray:
    """Of the partial plans in ``alive``, the cheapest one per units-still-needed vector."""
    if len(alive) == 0:
        return alive
    key = need[alive] @ radix
    first = np.lexsort((cost[alive], key))
    first = first[np.concatenate(([True], key[first][1:] != key[first][:-1]))]
    return alive[first]


def _replay(
    options: OrderOptions,
    sendable: np.ndarray,
    order: list[int],
    steps: list[tuple[np.ndarray, np.ndarray]],
    state: int,
    top: np.ndarray,
) -> np.ndarray:
    """Walk back to the opened candidates, then send units as the search did."""
    opened = set()
    for k in range(len(order) - 1, -1, -1):
        parent, opens = steps[k]
        if opens[state]:
            opened.add(order[k])
        state = int(parent[state])
    units = np.zeros_like(options.stock)
    need = top.copy()
    for j in order:
        if j in opened:
            units[j] = np.minimum(need, sendable[j])
            need -= units[j]
    return units
