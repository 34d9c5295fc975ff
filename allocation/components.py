"""Which resources orders can compete for, and the independent groups of orders that follows.

A stock row (location, SKU) can bind only when the orders that could draw on it could together
want more than it holds; a capacity row only when more orders could use the location than its
capacity. Orders linked by no binding row never compete, so they are solved apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from allocation.costs import OrderOptions

KEY_SHIFT = 1 << 24  # key = sku number * KEY_SHIFT + location index


@dataclass(frozen=True)
class Competition:
    """Every (order, candidate, line) that could draw stock, and which rows can bind."""

    order: np.ndarray  # per entry
    key: np.ndarray  # per entry: dense number of its (location, sku) row
    binding: np.ndarray  # per entry: its stock row can bind
    slices: list[tuple[int, int]]  # entries of each order
    cells: list[tuple[np.ndarray, np.ndarray]]  # (j, i) of each order's entries
    busy_location: np.ndarray  # bool per location index: capacity can bind

    def binding_cells(self, o: int, shape: tuple[int, int]) -> np.ndarray:
        mask = np.zeros(shape, dtype=bool)
        start, end = self.slices[o]
        jj, ii = self.cells[o]
        mask[jj, ii] = self.binding[start:end]
        return mask


def competition(problems: list[OrderOptions], capacity: np.ndarray) -> Competition:
    sku_ids: dict[str, int] = {}
    keys, ubs, limits, owners, slices, cells = [], [], [], [], [], []
    users = np.zeros(len(capacity), dtype=np.int64)
    start = 0
    for o, opt in enumerate(problems):
        sid = np.array([sku_ids.setdefault(line.sku, len(sku_ids)) for line in opt.order.lines])
        jj, ii = np.nonzero(opt.stock > 0)
        keys.append(sid[ii].astype(np.int64) * KEY_SHIFT + opt.loc[jj])
        ubs.append(np.minimum(opt.quantity[ii], opt.stock[jj, ii]))
        limits.append(opt.stock[jj, ii])
        owners.append(np.full(len(jj), o))
        slices.append((start, start + len(jj)))
        cells.append((jj, ii))
        start += len(jj)
        users[np.unique(opt.loc)] += 1
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    unique, inverse = np.unique(key, return_inverse=True)
    demand = np.bincount(
        inverse, weights=np.concatenate(ubs) if ubs else None, minlength=len(unique)
    )
    limit = np.zeros(len(unique))
    if len(key):
        limit[inverse] = np.concatenate(limits)
    return Competition(
        order=np.concatenate(owners) if owners else np.zeros(0, int),
        key=inverse,
        binding=(demand > limit)[inverse],
        slices=slices,
        cells=cells,
        busy_location=users > capacity,
    )


def _find(parent: list[int], a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def components(problems: list[OrderOptions], capacity: np.ndarray) -> list[list[int]]:
    """Groups of indices into ``problems``; two orders share a group when they may compete."""
    comp = competition(problems, capacity)
    parent = list(range(len(problems)))
    first: dict[int, int] = {}
    pairs = zip(comp.key[comp.binding].tolist(), comp.order[comp.binding].tolist(), strict=True)
    busy = [
        (-1 - int(n), o)
        for o, opt in enumerate(problems)
        for n in opt.loc[comp.busy_location[opt.loc]]
    ]
    for row, o in [*pairs, *busy]:
        if row in first:
            parent[_find(parent, o)] = _find(parent, first[row])
        else:
            first[row] = o
    groups: dict[int, list[int]] = defaultdict(list)
    for o in range(len(problems)):
        groups[_find(parent, o)].append(o)
    return sorted(groups.values(), key=len, reverse=True)
