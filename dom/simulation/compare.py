"""Replaying an instance under several rule sets, side by side with a baseline: each rule set's
plan (by the allocation core's own entry point, as `dom allocate` makes it), summed up into KPIs,
its difference to the baseline with the orders whose routing changed. Pure: the page and the
plots are dom.simulation.report's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from allocation import allocate

MAX_CHANGED_LISTED = 100
Named = list[tuple[str, dict[str, Any]]]  # (name, plan) in the order given


def plan_all(
    instance: dict[str, Any],
    rule_sets: list[tuple[str, dict[str, Any]]],
    mode: str,
    progress: Callable[[float], None] = lambda done: None,
) -> Named:
    """Each rule set's plan of the instance's orders on its stock."""
    plans = []
    for n, (name, rules) in enumerate(rule_sets):
        plans.append((name, allocate({**instance, "rules": rules}, mode=mode)))  # type: ignore[arg-type]
        progress((n + 1) / len(rule_sets))
    return plans


def summarise(instance: dict[str, Any], named: Named, mode: str) -> dict[str, Any]:
    """The first plan is the baseline; every entry has its KPIs and its difference to it."""
    types = {loc["id"]: loc["type"] for loc in instance["locations"]}
    capacity = {loc["id"]: loc.get("capacity", 1_000_000) for loc in instance["locations"]}
    base = named[0][1]
    entries = [_entry(name, plan, base, types, capacity) for name, plan in named]
    return {"mode": mode, "baseline": entries[0], "rule_sets": entries[1:]}


def _routes(plan: dict[str, Any]) -> dict[str, list[tuple[str, tuple[tuple[str, int], ...]]]]:
    return {
        o["id"]: sorted(
            (s["location"], tuple((ln["id"], ln["quantity"]) for ln in s["lines"]))
            for s in o["shipments"]
        )
        for o in plan["orders"]
    }


def _entry(
    name: str,
    plan: dict[str, Any],
    base: dict[str, Any],
    types: dict[str, str],
    capacity: dict[str, int],
) -> dict[str, Any]:
    orders = plan["orders"]
    count = max(len(orders), 1)
    shipments = [s for o in orders for s in o["shipments"]]
    allocated = plan["summary"]["units_allocated"]
    backordered = plan["summary"]["units_backordered"]
    distances = np.array([s["distance_km"] for s in shipments]) if shipments else np.zeros(1)
    units_from = {kind: 0 for kind in ("warehouse", "store", "dropship")}
    sent_by: dict[str, int] = {}
    breakdown: dict[str, float] = {}
    for s in shipments:
        units_from[types[s["location"]]] += s["units"]
        sent_by[s["location"]] = sent_by.get(s["location"], 0) + 1
        for key, value in s["cost_breakdown"].items():
            breakdown[key] = breakdown.get(key, 0.0) + value
    breakdown["backorders"] = sum(o["backorder_cost"] for o in orders)
    stores = [loc for loc in sent_by if types[loc] == "store"]
    uses = [sent_by[loc] / capacity[loc] for loc in stores if capacity[loc] > 0]
    theirs, ours = _routes(base), _routes(plan)
    changed = sorted(order for order, routes in ours.items() if theirs.get(order) != routes)
    return {
        "version": name,
        "total_cost": plan["cost"],
        "kpis": {
            "orders": len(orders),
            "cost_per_order": plan["cost"] / count,
            "cost_breakdown": {k: round(v, 4) for k, v in sorted(breakdown.items())},
            "shipments_per_order": len(shipments) / count,
            "mean_distance_km": float(distances.mean()),
            "p95_distance_km": float(np.percentile(distances, 95)),
            "units_share": {
                kind: (units / allocated if allocated else 0.0)
                for kind, units in units_from.items()
            },
            "backorder_rate": backordered / (allocated + backordered)
            if allocated + backordered
            else 0.0,
            "orders_with_backorder": sum(1 for o in orders if o["backordered"]),
            "store_capacity_use_max": max(uses, default=0.0),
            "store_shipments": sum(sent_by[loc] for loc in stores),
            "solve_seconds": plan["solver"]["seconds"],
        },
        "difference": {
            "total_cost": plan["cost"] - base["cost"],
            "total_cost_pct": (plan["cost"] - base["cost"]) / base["cost"] * 100
            if base["cost"]
            else 0.0,
            "orders_changed": len(changed),
            "changed": changed[:MAX_CHANGED_LISTED],
        },
    }
