"""The plan: decisions turned into plain data, every shipment costed and explained."""

from __future__ import annotations

from typing import Any

import numpy as np

from allocation.costs import OrderOptions
from allocation.evaluate import order_cost
from allocation.instance import PickupAt
from allocation.network import Network
from allocation.rules import Rules

ROUTE_NAMES = {
    ("ship", "warehouse"): "ship from warehouse",
    ("ship", "store"): "ship from store",
    ("ship", "dropship"): "drop-ship",
    ("shelf", "store"): "pickup from shelf",
}


def _round(value: float) -> float:
    return round(float(value), 4)


def _shipment(network: Network, opt: OrderOptions, j: int, units: np.ndarray) -> dict[str, Any]:
    location = network.locations[int(opt.loc[j])]
    route = str(opt.route[j])
    sent = int(units[j].sum())
    transport = "transfer" if route == "transfer" else "shipping"
    breakdown = {
        "handling_fixed": _round(opt.handling_fixed[j]),
        "handling_unit": _round(opt.unit[j] * sent),
        transport: _round(opt.transport[j]),
        "penalties": _round(opt.penalty[j]),
    }
    name = ROUTE_NAMES.get((route, location.type), f"{route} from {location.type}")
    reason = f"{name} {location.id}, {opt.distance_km[j]:.0f} km, {sent} unit(s)"
    if opt.penalty[j] > 0:
        reason += ", despite soft-rule penalties"
    lines = [
        {"id": line.id, "quantity": int(units[j, i])}
        for i, line in enumerate(opt.order.lines)
        if units[j, i] > 0
    ]
    return {
        "location": location.id,
        "route": route,
        "lines": lines,
        "units": sent,
        "distance_km": _round(opt.distance_km[j]),
        "cost": _round(opt.fixed[j] + opt.unit[j] * sent),
        "cost_breakdown": breakdown,
        "reason": reason,
    }


def _ready_at_hours(network: Network, opt: OrderOptions, opened: list[int]) -> float:
    hours = 0.0
    for j in opened:
        location = network.locations[int(opt.loc[j])]
        wait = location.lead_time_hours
        if opt.route[j] == "transfer":
            wait += 24.0 * location.transfer_days
        hours = max(hours, wait)
    return hours


def order_plan(
    network: Network, opt: OrderOptions, units: np.ndarray, rules: Rules
) -> dict[str, Any]:
    opened = [j for j in range(opt.size) if units[j].sum() > 0]
    cost = order_cost(opt, units, rules)
    missing = opt.quantity - units.sum(axis=0)
    plan: dict[str, Any] = {
        "id": opt.order.id,
        "method": opt.order.delivery.method,
        "shipments": [_shipment(network, opt, j, units) for j in opened],
        "backordered": [
            {"id": line.id, "quantity": int(missing[i]), "reason": _backorder_reason(network, line)}
            for i, line in enumerate(opt.order.lines)
            if missing[i] > 0
        ],
        "backorder_cost": _round(cost.backorders),
        "penalties": {k: _round(v) for k, v in cost.penalties.items()},
        "cost": _round(cost.total),
    }
    if isinstance(opt.order.delivery, PickupAt):
        plan["ready_at_hours"] = _ready_at_hours(network, opt, opened)
    return plan


def _backorder_reason(network: Network, line: Any) -> str:
    """Why units of a line are left unallocated: nobody stocks the SKU, or what is stocked
    is taken, excluded by the rules, or dearer to send than the backorder penalty."""
    _, units = network.holders.get(line.sku, ((), np.zeros(0)))
    if not np.any(units):
        return f"no location has {line.sku} available"
    return f"not enough {line.sku} where the rules let it come from, at less than the backorder penalty"


def assemble(
    orders: list[dict[str, Any]], rules: Rules, lower_bound: float, solver: dict[str, Any]
) -> dict[str, Any]:
    total = float(sum(o["cost"] for o in orders))
    lower_bound = min(lower_bound, total)  # per-order rounding must not lift the bound over it
    gap = (total - lower_bound) / total if total > 0 else 0.0
    shipments = [s for o in orders for s in o["shipments"]]
    return {
        "rules_version": rules.version,
        "orders": orders,
        "cost": _round(total),
        "lower_bound": _round(lower_bound),
        "gap": round(max(gap, 0.0), 6),
        "summary": {
            "orders": len(orders),
            "shipments": len(shipments),
            "units_allocated": sum(s["units"] for s in shipments),
            "units_backordered": sum(b["quantity"] for o in orders for b in o["backordered"]),
        },
        "solver": solver,
    }
