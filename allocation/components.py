"""Which resources orders can compete for, and the independent groups of orders that follows.

A stock row (location, SKU) can bind only when the orders that could draw on it could together
want more than it holds; a capacity row only when more orders could use the location than its
capacity. Orders linked by no binding row never compete, so they are solved apart.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from allocation.costs import OrderOptions


def binding_rows(problems: list[OrderOptions], capacity: np.ndarray,
                 ) -> tuple[dict[tuple[int, str], list[int]], dict[int, list[int]]]:
    """Binding stock rows and capacity rows, each with the orders that could use it."""
    demand: dict[tuple[int, str], int] = defaultdict(int)
    limit: dict[tuple[int, str], int] = {}
    stock_users: dict[tuple[int, str], list[int]] = defaultdict(list)
    ship_users: dict[int, list[int]] = defaultdict(list)
    for o, opt in enumerate(problems):
        for j, n in enumerate(opt.loc.tolist()):
            ship_users[n].append(o)
            for i, line in enumerate(opt.order.lines):
                if opt.stock[j, i] > 0:
                    key = (n, line.sku)
                    demand[key] += int(min(opt.quantity[i], opt.stock[j, i]))
                    limit[key] = int(opt.stock[j, i])
                    stock_users[key].append(o)
    stock = {k: users for k, users in stock_users.items() if demand[k] > limit[k]}
    ships = {n: users for n, users in ship_users.items() if len(users) > capacity[n]}
    return stock, ships


def _find(parent: list[int], a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def components(problems: list[OrderOptions], capacity: np.ndarray) -> list[list[int]]:
    """Groups of indices into ``problems``; two orders share a group when they may compete."""
    stock, ships = binding_rows(problems, capacity)
    parent = list(range(len(problems)))
    for members in [*stock.values(), *ships.values()]:
        root = _find(parent, members[0])
        for o in members[1:]:
            parent[_find(parent, o)] = root
    groups: dict[int, list[int]] = defaultdict(list)
    for o in range(len(problems)):
        groups[_find(parent, o)].append(o)
    return sorted(groups.values(), key=len, reverse=True)
