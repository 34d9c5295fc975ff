"""Routing an order: the allocation core's online decision against live candidate stock.

Candidate stock is what availability offers the order's channel and method at each location
(safety, fences, vendor confidence and pickup transfer windows applied), read from the
projection: the same numbers a hold is then decided on in SQL. The network is compiled for
the allocation core once per network and rule-set version; each order brings only its SKUs'
stock. The decision is kept whole for explanations: every candidate with what it would cost,
every location left out and why, and the plan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocation.costs import OrderOptions, order_options
from allocation.instance import Instance, StockRecord
from allocation.instance import Location as AllocationLocation
from allocation.network import Network, Remaining, compile_network, with_stock
from allocation.online import ORDER_TIME_LIMIT_S
from allocation.plan import order_plan
from allocation.rules import Rules
from allocation.single import solve_order
from dom.orders.capacity import UNLIMITED
from dom.orders.model import OrderIn
from inventory import AvailabilityReader, Capability, Location, Query

MAX_EXPLAINED = 200  # candidates and exclusions kept in one decision's explanation
MAX_NETWORKS = 4  # compiled networks kept (by network and rule-set version)
Key = tuple[str, str]  # (location, sku)
Lines = list[tuple[str, str, int]]  # (line id, sku, units)


@dataclass(frozen=True, slots=True)
class Routed:
    """A routing decision: the allocation core's plan for the lines, its explanation, and the
    daily capacity of the locations it ships from (what their allocation may count up to)."""

    plan: dict[str, Any]
    explanation: dict[str, Any]
    limits: dict[str, int]


UsedToday = Callable[[list[str]], Mapping[str, int]]  # shipments allocated today, by location


def nothing_used(locations: list[str]) -> Mapping[str, int]:
    return {}


def allocation_location(location: Location) -> AllocationLocation:
    """The ledger's location as the allocation core sees it: an inactive one serves nothing;
    a returns centre is a flag of the allocation core's, not one of its capabilities."""
    held = location.capabilities - {Capability.returns_centre} if location.active else set()
    capabilities = tuple(sorted(c.value for c in held))
    return AllocationLocation(
        id=location.id,
        type=location.type.value,
        lat=location.lat,
        lon=location.lon,
        capabilities=capabilities,  # type: ignore[arg-type]
        capacity=location.capacity_per_day,
        lead_time_hours=location.lead_time_hours,
        transfer_days=location.transfer_days,
        returns_centre=location.can(Capability.returns_centre),
    )


class Router:
    """Routes orders for one engine; compiled networks are shared by its threads."""

    def __init__(self, reader: AvailabilityReader, used_today: UsedToday = nothing_used) -> None:
        self.reader = reader
        self.used_today = used_today
        self._networks: dict[tuple[str | None, str], Network] = {}
        self._lock = threading.Lock()

    def route(
        self,
        order: OrderIn,
        lines: Lines,
        rule_set: tuple[str, Rules],
        excluded: Mapping[str, str] | None = None,
        extra: Mapping[Key, int] | None = None,
    ) -> Routed:
        """Plan `lines` of `order` under `rule_set` against the stock availability offers now,
        leaving out the locations of `excluded` (location -> why) and counting `extra` units as
        available too (a cart hold the order consumes)."""
        excluded = excluded or {}
        version, rules = rule_set
        skus = list(dict.fromkeys(sku for _, sku, _ in lines))
        query = Query(method=order.delivery.method, store=order.store, channel=order.channel)
        projection = self.reader.projection
        network_version, positions, inbound = projection.read_with_inbound(skus)
        view = self.reader.view_for(network_version)
        answers = self.reader.answer(view, skus, positions, inbound, query, detail=True)
        stock: dict[Key, int] = dict(extra or {})
        left_out: list[dict[str, Any]] = []
        for answer in answers:
            for part in answer.contributions:
                key = (part.location, answer.sku)
                if part.location in excluded:
                    left_out.append(_out(part.location, answer.sku, excluded[part.location]))
                elif part.counted > 0:
                    stock[key] = stock.get(key, 0) + part.counted
                elif part.excluded and len(left_out) < MAX_EXPLAINED:
                    left_out.append(_out(part.location, answer.sku, part.excluded))
        for key in [k for k in stock if k[0] in excluded]:
            del stock[key]
        base = self._network(view.version, view.locations, version, rules)
        records = [
            StockRecord.model_construct(location=loc, sku=sku, available=units)
            for (loc, sku), units in stock.items()
            if loc in base.index
        ]
        network = with_stock(base, records)
        wanted = order.for_allocation(lines)
        remaining = Remaining.of(network)
        self._spend_today(network, {loc for loc, _ in stock if loc in base.index}, remaining)
        options = order_options(wanted, network, remaining)
        decision = solve_order(options, rules, ORDER_TIME_LIMIT_S)
        plan = order_plan(network, decision.options, decision.units, rules)
        left_out += _ruled_out(network, options, wanted.lines, remaining)
        explanation = {
            "rule_set": version,
            "network_version": view.version,
            "method": decision.method,
            "candidates": _candidates(network, options, plan, rules),
            "excluded": left_out[:MAX_EXPLAINED],
            "plan": plan,
        }
        limits = {
            s["location"]: int(network.capacity[network.index[s["location"]]])
            for s in plan["shipments"]
        }
        return Routed(plan, explanation, limits)

    def _spend_today(self, network: Network, holders: set[str], remaining: Remaining) -> None:
        """Lower the capacity left of the locations that count theirs by what today used."""
        counted = sorted(loc for loc in holders if network.capacity[network.index[loc]] < UNLIMITED)
        if not counted:
            return
        for location, shipments in self.used_today(counted).items():
            n = network.index[location]
            remaining.capacity[n] = max(0, int(network.capacity[n]) - shipments)

    def _network(
        self, network_version: str, locations: Mapping[str, Location], version: str, rules: Rules
    ) -> Network:
        key = (network_version, version)
        network = self._networks.get(key)
        if network is None:
            instance = Instance(
                locations=tuple(allocation_location(loc) for loc in locations.values()),
                rules=rules,
            )
            network = compile_network(instance)
            with self._lock:
                if len(self._networks) >= MAX_NETWORKS:
                    self._networks.clear()
                self._networks[key] = network
        return network


def _out(location: str, sku: str, reason: str) -> dict[str, Any]:
    return {"location": location, "sku": sku, "reason": reason}


def _ruled_out(
    network: Network, options: OrderOptions, lines: Any, remaining: Remaining
) -> list[dict[str, Any]]:
    """Locations that hold the order's SKUs but the rule set, the method or their day's
    capacity leaves out."""
    kept = set(options.loc.tolist())
    out = []
    for line in lines:
        holders, units = network.holders.get(line.sku, (np.empty(0, int), np.empty(0)))
        for n, u in zip(holders.tolist(), units.tolist(), strict=True):
            if n in kept or u <= 0:
                continue
            location = network.locations[n]
            if network.excluded[n]:
                reason = "excluded by the rule set"
            elif not (network.can_ship[n] or network.can_transfer[n]):
                reason = "cannot ship or transfer"
            elif remaining.capacity[n] < 1:
                reason = f"its {int(network.capacity[n])} shipments for today are allocated"
            else:
                reason = "beyond the rule set's distance limit, or not a route for this method"
            out.append(_out(location.id, line.sku, reason))
    return out


def _candidates(
    network: Network, options: OrderOptions, plan: dict[str, Any], rules: Rules
) -> list[dict[str, Any]]:
    """Every candidate with its terms and what it would cost alone: serving what it can, the
    rest backordered. Cheapest alone first; the chosen ones say so."""
    chosen = {s["location"]: s["units"] for s in plan["shipments"]}
    sendable = np.minimum(options.stock, options.quantity[None, :])
    alone = (
        options.fixed
        + options.unit * sendable.sum(axis=1)
        + rules.backorder_penalty * (options.quantity[None, :] - sendable).sum(axis=1)
    )
    rows = []
    for j in np.argsort(alone, kind="stable")[:MAX_EXPLAINED].tolist():
        location = network.locations[int(options.loc[j])]
        rows.append({
            "location": location.id,
            "type": location.type,
            "route": str(options.route[j]),
            "distance_km": round(float(options.distance_km[j]), 3),
            "fixed_cost": round(float(options.fixed[j]), 4),
            "unit_cost": round(float(options.unit[j]), 4),
            "penalties": round(float(options.penalty[j]), 4),
            "stock": {
                line.id: int(options.stock[j, i]) for i, line in enumerate(options.order.lines)
            },
            "cost_alone": round(float(alone[j]), 4),
            "chosen": location.id in chosen,
            "units": chosen.get(location.id, 0),
        })  # fmt: skip
    return rows
