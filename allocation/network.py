"""The instance compiled once into arrays, and the stock and capacity left as decisions are made.

Per-location weights of the rule set (handling, exclusions, distance caps) are resolved here so the
cost model reads one array per term instead of walking rules for every order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from allocation.instance import Instance, Location, StockRecord
from allocation.rules import Rules


@dataclass(frozen=True)
class Network:
    locations: tuple[Location, ...]
    index: dict[str, int]
    rules: Rules
    lat: np.ndarray
    lon: np.ndarray
    handling_fixed: np.ndarray
    handling_unit: np.ndarray
    can_ship: np.ndarray  # bool: ship capability and not hard-excluded
    can_transfer: np.ndarray  # bool: transfer capability and not hard-excluded
    excluded: np.ndarray  # bool: hard exclusion
    exclusion_penalty: np.ndarray  # EUR per shipment (soft exclusions)
    distance_limit_km: np.ndarray  # inf when no cap
    distance_hard: np.ndarray  # bool: the cap is hard
    distance_penalty: np.ndarray  # EUR per shipment beyond a soft cap
    capacity: np.ndarray  # shipments this location may send
    holders: dict[str, tuple[np.ndarray, np.ndarray]]  # sku -> (location indices, available)


def _buffer(location: Location, rules: Rules) -> int:
    if location.buffer is not None:
        return location.buffer
    return rules.store_buffer.units if location.type == "store" else 0


def _exclusions(locations: tuple[Location, ...], rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    hard = np.zeros(len(locations), bool)
    penalty = np.zeros(len(locations))
    for rule in rules.exclusions:
        hit = np.array(
            [rule.location in (None, loc.id) and rule.type in (None, loc.type) for loc in locations]
        )
        if rule.mode == "hard":
            hard |= hit
        else:
            penalty += np.where(hit, rule.penalty, 0.0)
    return hard, penalty


def compile_network(instance: Instance) -> Network:
    locations, rules = instance.locations, instance.rules
    types = [loc.type for loc in locations]
    excluded, exclusion_penalty = _exclusions(locations, rules)
    caps = [rules.max_distance_km.get(t) for t in types]
    has = {c: np.array([c in loc.capabilities for loc in locations]) for c in ("ship", "transfer")}
    index = {loc.id: i for i, loc in enumerate(locations)}
    return Network(
        locations=locations,
        index=index,
        rules=rules,
        lat=np.array([loc.lat for loc in locations]),
        lon=np.array([loc.lon for loc in locations]),
        handling_fixed=np.array([rules.handling_fixed[t] for t in types]),
        handling_unit=np.array([rules.handling_unit[t] for t in types]),
        can_ship=has["ship"] & ~excluded,
        can_transfer=has["transfer"] & ~excluded,
        excluded=excluded,
        exclusion_penalty=exclusion_penalty,
        distance_limit_km=np.array([c.limit if c else np.inf for c in caps]),
        distance_hard=np.array([bool(c and c.mode == "hard") for c in caps]),
        distance_penalty=np.array([c.penalty if c and c.mode == "soft" else 0.0 for c in caps]),
        capacity=np.array([loc.capacity for loc in locations], dtype=np.int64),
        holders=_holders(locations, index, rules, instance.stock),
    )


def _holders(
    locations: tuple[Location, ...],
    index: dict[str, int],
    rules: Rules,
    stock: Iterable[StockRecord],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per SKU, the locations holding it and their units, less each location's buffer."""
    per_sku: dict[str, tuple[list[int], list[int]]] = {}
    for record in stock:
        n = index[record.location]
        units = max(0, record.available - _buffer(locations[n], rules))
        locs, amounts = per_sku.setdefault(record.sku, ([], []))
        locs.append(n)
        amounts.append(units)
    return {s: (np.array(ls, int), np.array(us, np.int64)) for s, (ls, us) in per_sku.items()}


def with_stock(network: Network, stock: Iterable[StockRecord]) -> Network:
    """The same network and rules over other stock: a live engine compiles its network once
    and gives each order the stock it sees then."""
    return replace(
        network, holders=_holders(network.locations, network.index, network.rules, stock)
    )


@dataclass
class Remaining:
    """Stock per (location, sku) and shipments per location still free; decisions consume them.

    Stock is dense per SKU (one array over all locations) so a candidate matrix is one gather.
    """

    stock: dict[str, np.ndarray]
    capacity: np.ndarray

    @classmethod
    def of(cls, network: Network) -> Remaining:
        size = len(network.locations)
        stock = {}
        for sku, (locs, units) in network.holders.items():
            dense = np.zeros(size, dtype=np.int64)
            dense[locs] = units
            stock[sku] = dense
        return cls(stock=stock, capacity=network.capacity.copy())

    def units(self, location: int, sku: str) -> int:
        dense = self.stock.get(sku)
        return 0 if dense is None else int(dense[location])

    def matrix(self, locations: np.ndarray, skus: list[str]) -> np.ndarray:
        """Units left of each SKU (columns) at each location (rows)."""
        empty = np.zeros(len(self.capacity), dtype=np.int64)
        columns = [self.stock.get(s, empty)[locations] for s in skus]
        return np.stack(columns, axis=1) if columns else np.zeros((len(locations), 0), np.int64)

    def consume(self, location: int, sku: str, units: int) -> None:
        left = self.units(location, sku) - units
        assert left >= 0, f"over-allocation of {sku} at location {location}"
        self.stock[sku][location] = left

    def open_shipment(self, location: int) -> None:
        assert self.capacity[location] >= 1, f"location {location} over its capacity"
        self.capacity[location] -= 1
