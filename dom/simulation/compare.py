"""Replaying an instance under several rule sets, side by side with its own (the baseline):
each rule set's plan summed up, its difference to the baseline with the orders whose routing
changed, and a page to read it on."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from allocation import allocate

MAX_CHANGED_LISTED = 100


def replay(
    instance: dict[str, Any],
    rule_sets: list[tuple[str, dict[str, Any]]],
    mode: str,
    progress: Callable[[float], None],
) -> tuple[dict[str, Any], str]:
    """The result (`baseline` and one entry per rule set, in order) and its HTML page."""
    plans = []
    every = [("baseline", instance["rules"]), *rule_sets]
    for n, (_, rules) in enumerate(every):
        plans.append(allocate({**instance, "rules": rules}, mode=mode))  # type: ignore[arg-type]
        progress((n + 1) / len(every))
    base = plans[0]
    entries = [_entry(version, plan, base) for (version, _), plan in zip(every, plans, strict=True)]
    result = {"mode": mode, "baseline": entries[0], "rule_sets": entries[1:]}
    return result, _page(result)


def _routes(plan: dict[str, Any]) -> dict[str, list[tuple[str, tuple[tuple[str, int], ...]]]]:
    return {
        o["id"]: sorted(
            (s["location"], tuple((ln["id"], ln["quantity"]) for ln in s["lines"]))
            for s in o["shipments"]
        )
        for o in plan["orders"]
    }


def _entry(version: str, plan: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    summary = plan["summary"]
    shipments = [s for o in plan["orders"] for s in o["shipments"]]
    units = summary["units_allocated"] + summary["units_backordered"]
    theirs, ours = _routes(base), _routes(plan)
    changed = sorted(order for order, routes in ours.items() if theirs.get(order) != routes)
    return {
        "version": version,
        "total_cost": plan["cost"],
        "kpis": {
            "orders": summary["orders"],
            "cost_per_order": plan["cost"] / summary["orders"] if summary["orders"] else 0.0,
            "shipments_per_order": len(shipments) / summary["orders"] if summary["orders"] else 0.0,
            "backorder_rate": summary["units_backordered"] / units if units else 0.0,
            "mean_distance_km": (
                sum(s["distance_km"] for s in shipments) / len(shipments) if shipments else 0.0
            ),
            "solve_seconds": plan["solver"]["seconds"],
        },
        "difference": {
            "total_cost": plan["cost"] - base["cost"],
            "orders_changed": len(changed),
            "changed": changed[:MAX_CHANGED_LISTED],
        },
    }


def _page(result: dict[str, Any]) -> str:
    entries = [result["baseline"], *result["rule_sets"]]
    names = list(entries[0]["kpis"])
    head = "".join(f"<th>{html.escape(e['version'])}</th>" for e in entries)
    rows = [
        "<tr><td>total cost</td>" + "".join(f"<td>{e['total_cost']:.2f}</td>" for e in entries)
        + "</tr>"
    ] + [
        f"<tr><td>{html.escape(k)}</td>"
        + "".join(f"<td>{e['kpis'][k]:.4g}</td>" for e in entries) + "</tr>"
        for k in names
    ]  # fmt: skip
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Simulation</title></head>"
        f"<body><h1>Simulation ({html.escape(result['mode'])})</h1><table border='1'>"
        f"<tr><th></th>{head}</tr>{''.join(rows)}</table></body></html>"
    )
