"""Allocation benchmark: the engine's online and batch modes beside the peers' rules.

    .venv/bin/python -m benchmarks.allocation.run --orders 300 --locations 300 --seed 1
    .venv/bin/python -m benchmarks.allocation.run --orders 10000 --locations 1000 --seed 1 \\
        --methods batch --time-limit 110
    .venv/bin/python -m benchmarks.allocation.run --latency --orders 500 --locations 300 --lines 10

Each method runs in its own process (so its peak RSS is its own) on the same seeded instance; every
plan is audited for feasibility (`allocation.audit`). Prints a Markdown table and, with --json, the
raw figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

METHODS = ("magento", "shopify", "online", "batch")
LABELS = {
    "magento": "Magento MSI distance priority",
    "shopify": "Shopify-style ranked rules",
    "online": "engine online (order by order)",
    "batch": "engine batch (joint)",
}


def _instance(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.allocation.instances import build_instance, ledger_instance

    if args.source == "ledger":
        data = ledger_instance(args.orders, args.locations, args.seed)
        if data is None:
            raise SystemExit(
                "the ledger's generators (dom.synthetic, dom.synthetic.demand) are missing"
            )
        return data
    return build_instance(args.orders, args.locations, args.seed, lines=args.lines)


def _plan(method: str, data: dict[str, Any], time_limit_s: float) -> dict[str, Any]:
    from allocation import allocate, parse_instance
    from benchmarks.allocation.baselines import (
        magento_distance_priority,
        run_rule,
        shopify_ranked_rules,
    )

    if method in ("online", "batch"):
        return allocate(data, mode=method, time_limit_s=time_limit_s)
    rule = magento_distance_priority if method == "magento" else shopify_ranked_rules
    return run_rule(parse_instance(data), rule, method)


def _metrics(data: dict[str, Any], plan: dict[str, Any], seconds: float) -> dict[str, Any]:
    from allocation import parse_instance
    from allocation.audit import plan_problems

    types = {loc["id"]: loc["type"] for loc in data["locations"]}
    shipments = [s for o in plan["orders"] for s in o["shipments"]]
    units = sum(s["units"] for s in shipments) or 1
    return {
        "cost": plan["cost"],
        "lower_bound": plan["lower_bound"],
        "gap": plan["gap"],
        "shipments_per_order": len(shipments) / max(1, len(plan["orders"])),
        "avg_distance_km": float(np.mean([s["distance_km"] for s in shipments] or [0.0])),
        "store_share": sum(s["units"] for s in shipments if types[s["location"]] == "store")
        / units,
        "backordered_units": plan["summary"]["units_backordered"],
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "infeasibilities": len(plan_problems(parse_instance(data), plan)),
        "solver": plan["solver"],
    }


def _one(args: argparse.Namespace) -> None:
    data = _instance(args)
    started = time.perf_counter()
    plan = _plan(args.single, data, args.time_limit)
    seconds = time.perf_counter() - started
    print(json.dumps(_metrics(data, plan, seconds)))


def _latency(args: argparse.Namespace) -> None:
    """Per-order decision time in online mode (candidates + exact decision), after a warm-up."""
    from allocation import parse_instance
    from allocation.costs import order_options
    from allocation.network import Remaining, compile_network
    from allocation.online import commit
    from allocation.single import solve_order

    instance = parse_instance(_instance(args))
    network = compile_network(instance)
    remaining = Remaining.of(network)
    times, sizes, methods = [], [], {}
    for order in instance.orders:
        started = time.perf_counter()
        options = order_options(order, network, remaining)
        decision = solve_order(options, instance.rules)
        times.append((time.perf_counter() - started) * 1000)
        commit(decision, remaining)
        sizes.append(options.size)
        methods[decision.method] = methods.get(decision.method, 0) + 1
    ms = np.array(times[10:])
    print(
        json.dumps(
            {
                "orders": len(ms),
                "lines": args.lines,
                "candidates_mean": np.mean(sizes),
                "candidates_max": int(np.max(sizes)),
                "p50_ms": np.percentile(ms, 50),
                "p99_ms": np.percentile(ms, 99),
                "max_ms": float(ms.max()),
                "decisions": methods,
            }
        )
    )


def _table(rows: dict[str, dict[str, Any]]) -> str:
    best = rows.get("batch", {}).get("cost")
    out = [
        "| method | cost (EUR) | vs batch | shipments/order | avg km | store share | "
        "backordered | seconds | peak RSS MB | gap to bound | feasible |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for method, m in rows.items():
        delta = f"{100 * (m['cost'] / best - 1):+.2f}%" if best else "n/a"
        gap = f"{100 * m['gap']:.3f}%" if method == "batch" else "-"
        out.append(
            f"| {LABELS[method]} | {m['cost']:.2f} | {delta} | "
            f"{m['shipments_per_order']:.3f} | {m['avg_distance_km']:.1f} | "
            f"{100 * m['store_share']:.1f}% | {m['backordered_units']} | "
            f"{m['seconds']:.2f} | {m['peak_rss_mb']:.0f} | {gap} | "
            f"{'yes' if m['infeasibilities'] == 0 else 'NO'} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--locations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lines", type=int, default=None, help="exactly this many lines/order")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--source", choices=("own", "ledger"), default="own")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--single", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.single:
        return _one(args)
    if args.latency:
        return _latency(args)
    rows = {}
    for method in args.methods.split(","):
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.allocation.run",
            "--single",
            method,
            *(argv if argv is not None else sys.argv[1:]),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows[method] = json.loads(done.stdout.strip().splitlines()[-1])
    print(_table(rows))
    if args.json:
        print(json.dumps(rows, indent=1))
    return None


if __name__ == "__main__":
    main()
