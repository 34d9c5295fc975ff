"""The cost model of ../shared/DESIGN.md, applied to one order: its candidate locations and costs.

A shipment from candidate j carrying u units costs ``fixed[j] + unit[j] * u`` where
``fixed = handling_fixed[type] + transport + per-shipment penalties`` and ``transport`` is
``ship_base + ship_per_km * km(location, address)`` for a ship order, 0 from the pickup store's own
shelf, and ``transfer_base + transfer_per_km * km(location, store)`` for a transfer.
An unallocated unit pays ``backorder_penalty``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocation.geo import haversine_km
from allocation.instance import Order, PickupAt
from allocation.network import Network, Remaining


@dataclass(frozen=True)
class OrderOptions:
    """Everything the solvers need about one order: candidates (index j) and lines (index l)."""

    order: Order
    loc: np.ndarray  # (J,) location index of each candidate
    route: np.ndarray  # (J,) "ship", "shelf" or "transfer"
    distance_km: np.ndarray  # (J,)
    handling_fixed: np.ndarray  # (J,)
    transport: np.ndarray  # (J,) shipping or transfer cost
    penalty: np.ndarray  # (J,) soft exclusion and distance penalties per shipment
    unit: np.ndarray  # (J,) handling per unit
    stock: np.ndarray  # (J, L) units of line l's SKU available at candidate j
    quantity: np.ndarray  # (L,)
    price: np.ndarray  # (L,)

    @property
    def fixed(self) -> np.ndarray:
        return self.handling_fixed + self.transport + self.penalty

    @property
    def size(self) -> int:
        return len(self.loc)

    def subset(self, keep: np.ndarray) -> OrderOptions:
        return OrderOptions(
            self.order,
            self.loc[keep],
            self.route[keep],
            self.distance_km[keep],
            self.handling_fixed[keep],
            self.transport[keep],
            self.penalty[keep],
            self.unit[keep],
            self.stock[keep],
            self.quantity,
            self.price,
        )


def _routes(order: Order, network: Network, locs: np.ndarray) -> tuple[np.ndarray, ...]:
    rules = network.rules
    if isinstance(order.delivery, PickupAt):
        store = network.index[order.delivery.store]
        km = haversine_km(
            network.lat[locs], network.lon[locs], network.lat[store], network.lon[store]
        )
        shelf = (locs == store) & ~network.excluded[locs]
        allowed = shelf | (network.can_transfer[locs] & (locs != store))
        transport = np.where(shelf, 0.0, rules.transfer_base + rules.transfer_per_km * km)
        route = np.where(shelf, "shelf", "transfer")
    else:
        km = haversine_km(
            network.lat[locs], network.lon[locs], order.delivery.lat, order.delivery.lon
        )
        allowed = network.can_ship[locs].copy()
        transport = rules.ship_base + rules.ship_per_km * km
        route = np.full(len(locs), "ship")
    km = np.where(route == "shelf", 0.0, km)
    return km, allowed, transport, route


def order_options(order: Order, network: Network, remaining: Remaining) -> OrderOptions:
    """Candidates of ``order``: allowed locations with stock of one of its SKUs and capacity left."""
    skus = [line.sku for line in order.lines]
    holders = [network.holders[s][0] for s in dict.fromkeys(skus) if s in network.holders]
    locs = np.unique(np.concatenate(holders)) if holders else np.empty(0, int)
    locs = locs[remaining.capacity[locs] >= 1]
    stock = remaining.matrix(locs, skus)
    km, allowed, transport, route = _routes(order, network, locs)
    over_cap = km > network.distance_limit_km[locs]
    allowed &= ~(over_cap & network.distance_hard[locs]) & (stock.sum(axis=1) > 0)
    penalty = network.exclusion_penalty[locs] + np.where(
        over_cap, network.distance_penalty[locs], 0.0
    )
    keep = np.flatnonzero(allowed)
    quantity = np.array([line.quantity for line in order.lines], dtype=np.int64)
    return OrderOptions(
        order=order,
        loc=locs[keep],
        route=route[keep],
        distance_km=km[keep],
        handling_fixed=network.handling_fixed[locs][keep],
        transport=transport[keep],
        penalty=penalty[keep],
        unit=network.handling_unit[locs][keep],
        stock=stock[keep],
        quantity=quantity,
        price=np.array([line.price for line in order.lines]),
    )
