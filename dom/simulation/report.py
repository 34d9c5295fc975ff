"""A simulation's report: its KPIs side by side, and the plots a planner would rather look at
than read (cost and splits per rule set, which locations served whom, distances), as PNG, in
one self-contained HTML page (the images inline: no file beside it, nothing fetched)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or a worker

import matplotlib.pyplot as plt

from dom.simulation.compare import Named

COLOURS = {"warehouse": "#1f4e79", "store": "#2e8b57", "dropship": "#c0504d"}


def _png(figure: Any) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return out.getvalue()


def figures(instance: dict[str, Any], named: Named, result: dict[str, Any]) -> dict[str, bytes]:
    """The report's plots, by title."""
    entries = [result["baseline"], *result["rule_sets"]]
    names = [e["version"] for e in entries]
    shown: dict[str, bytes] = {}

    fig, (cost, splits) = plt.subplots(1, 2, figsize=(10, 3.5))
    cost.bar(names, [e["total_cost"] for e in entries], color="#1f4e79")
    cost.set_title("total cost")
    splits.bar(names, [e["kpis"]["shipments_per_order"] for e in entries], color="#2e8b57")
    splits.set_title("shipments per order")
    shown["Cost and splits per rule set"] = _png(fig)

    places = {loc["id"]: loc for loc in instance["locations"]}
    orders = {o["id"]: o for o in instance["orders"]}
    fig, panels = plt.subplots(1, len(named), figsize=(4.5 * len(named), 4.5), squeeze=False)
    for panel, (name, plan) in zip(panels[0], named, strict=True):
        for kind, colour in COLOURS.items():
            at = [p for p in places.values() if p["type"] == kind]
            panel.scatter([p["lon"] for p in at], [p["lat"] for p in at], s=6, c=colour, label=kind)
        for order in plan["orders"]:
            to = _destination(orders[order["id"]], places)
            for s in order["shipments"]:
                origin = places[s["location"]]
                panel.plot([origin["lon"], to[1]], [origin["lat"], to[0]], lw=0.3,
                           c=COLOURS[origin["type"]], alpha=0.4)  # fmt: skip
        panel.set_title(f"{name}: who served whom")
        panel.legend(fontsize=7, loc="lower left")
    shown["Which locations served whom"] = _png(fig)

    fig, axis = plt.subplots(figsize=(7, 3.5))
    for name, plan in named:
        km = [s["distance_km"] for o in plan["orders"] for s in o["shipments"]]
        axis.hist(km, bins=30, histtype="step", label=name)
    axis.set_xlabel("km, location to address or pickup store")
    axis.legend(fontsize=8)
    shown["Distances"] = _png(fig)
    return shown


def _destination(order: dict[str, Any], places: dict[str, Any]) -> tuple[float, float]:
    delivery = order["delivery"]
    if delivery["method"] == "ship":
        return delivery["lat"], delivery["lon"]
    store = places[delivery["store"]]
    return store["lat"], store["lon"]


def page(instance: dict[str, Any], named: Named, result: dict[str, Any]) -> str:
    entries = [result["baseline"], *result["rule_sets"]]
    head = "".join(f"<th>{html.escape(e['version'])}</th>" for e in entries)
    rows = [_row("total cost", [f"{e['total_cost']:.2f}" for e in entries]),
            _row("vs baseline", [f"{e['difference']['total_cost_pct']:+.2f} %" for e in entries]),
            _row("orders routed otherwise", [str(e["difference"]["orders_changed"]) for e in entries])]  # fmt: skip
    for key, value in entries[0]["kpis"].items():
        if isinstance(value, dict):
            for part in value:
                rows.append(
                    _row(f"{key}: {part}", [_figure(e["kpis"][key][part]) for e in entries])
                )
        else:
            rows.append(_row(key, [_figure(e["kpis"][key]) for e in entries]))
    images = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        for title, png in figures(instance, named, result).items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Simulation</title><style>"
        "body{font-family:sans-serif;margin:2em}td,th{padding:2px 10px;text-align:right}"
        "td:first-child{text-align:left}</style></head><body>"
        f"<h1>Simulation, {html.escape(result['mode'])} mode, "
        f"{entries[0]['kpis']['orders']} orders</h1>"
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>{images}</body></html>"
    )


def _row(label: str, cells: list[str]) -> str:
    return f"<tr><td>{html.escape(label)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _figure(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))
