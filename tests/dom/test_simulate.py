"""`dom simulate` and the summaries it is made of: KPIs on a hand-made instance, checked by
hand; costs equal to `dom allocate`'s on the same instance and rules; the command line's JSON,
report and refusals, through its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from allocation import allocate
from dom.simulation.compare import plan_all, summarise

STORE_OFF = {"exclusions": [{"location": "S", "mode": "hard"}]}
INSTANCE = {
    "locations": [
        {"id": "W", "type": "warehouse", "lat": 48.85, "lon": 2.35, "capabilities": ["ship"]},
        {"id": "S", "type": "store", "lat": 45.76, "lon": 4.83, "capabilities": ["ship", "pickup"],
         "capacity": 4},
    ],
    "stock": [{"location": "W", "sku": "A", "available": 10},
              {"location": "S", "sku": "A", "available": 2}],
    "orders": [
        {"id": "o1", "delivery": {"method": "ship", "lat": 45.75, "lon": 4.85},
         "lines": [{"id": "l1", "sku": "A", "quantity": 2}]},
        {"id": "o2", "delivery": {"method": "ship", "lat": 48.86, "lon": 2.34},
         "lines": [{"id": "l1", "sku": "A", "quantity": 1}]},
        {"id": "o3", "delivery": {"method": "ship", "lat": 45.75, "lon": 4.85},
         "lines": [{"id": "l1", "sku": "A", "quantity": 20}]},
    ],
    "rules": {},
}  # fmt: skip


def test_kpis_of_a_hand_made_instance() -> None:
    named = plan_all(INSTANCE, [("baseline", {}), ("no store", STORE_OFF)], "online")
    result = summarise(INSTANCE, named, "online")
    base, [off] = result["baseline"], result["rule_sets"]
    # Baseline: o1 from the Lyon store (2), o2 from Paris (1), o3 from Paris (9 left), 11 short.
    assert base["kpis"]["orders"] == 3 and base["kpis"]["shipments_per_order"] == 1.0
    assert base["kpis"]["units_share"] == {"warehouse": 10 / 12, "store": 2 / 12, "dropship": 0.0}
    assert base["kpis"]["backorder_rate"] == pytest.approx(11 / 23)
    assert base["kpis"]["orders_with_backorder"] == 1
    assert base["kpis"]["store_shipments"] == 1 and base["kpis"]["store_capacity_use_max"] == 0.25
    # Without the store: o1 from Paris too, o3 gets 7, 13 short; only o1 and o3 change.
    assert off["kpis"]["units_share"]["store"] == 0.0
    assert off["kpis"]["backorder_rate"] == pytest.approx(13 / 23)
    assert off["difference"]["changed"] == ["o1", "o3"]
    assert off["difference"]["total_cost"] == pytest.approx(off["total_cost"] - base["total_cost"])
    assert off["total_cost"] > base["total_cost"]
    distances = sorted(s["distance_km"] for o in named[0][1]["orders"] for s in o["shipments"])
    assert base["kpis"]["mean_distance_km"] == pytest.approx(sum(distances) / 3)
    assert sum(base["kpis"]["cost_breakdown"].values()) == pytest.approx(base["total_cost"])


def test_simulated_costs_are_those_dom_allocate_gives() -> None:
    for mode in ("online", "batch"):
        named = plan_all(INSTANCE, [("no store", STORE_OFF)], mode)
        expected = allocate({**INSTANCE, "rules": STORE_OFF}, mode=mode)["cost"]  # type: ignore[arg-type]
        assert summarise(INSTANCE, named, mode)["baseline"]["total_cost"] == expected


def dom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dom.cli", *args], capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_the_command_line_prints_one_entry_per_rules_file_in_order_and_writes_the_report(
    tmp_path: Path,
) -> None:
    instance, a, b = tmp_path / "day.json", tmp_path / "A.json", tmp_path / "B.json"
    instance.write_text(json.dumps(INSTANCE))
    a.write_text(json.dumps(STORE_OFF))
    b.write_text(json.dumps({"ship_base": 7.5}))
    report = tmp_path / "report.html"
    done = dom("simulate", str(instance), "--rules", str(b), "--rules", str(a), "--json",
               "--report", str(report))  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert [e["rules"] for e in shown["rule_sets"]] == [str(b), str(a)]
    expected = allocate({**INSTANCE, "rules": {"ship_base": 7.5}})["cost"]  # type: ignore[arg-type]
    assert shown["rule_sets"][0]["total_cost"] == expected
    assert set(shown["rule_sets"][1]["kpis"]) >= {
        "cost_per_order",
        "p95_distance_km",
        "units_share",
    }
    page = report.read_text()
    assert page.startswith("<!doctype html>") and page.count("data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page  # self-contained
    table = dom("simulate", str(instance), "--rules", str(a))
    assert table.returncode == 0 and "total cost" in table.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["missing.json", "--rules", "A.json"], "cannot read instance"),
        (
            ["day.json", "--rules", "bad.json"],
            "ship_base: Input should be greater than or equal to 0",
        ),
        (["day.json", "--rules", "A.json", "--mode", "fast"], "fast"),
        (["broken.json", "--rules", "A.json"], "invalid instance"),
    ],
)
def test_bad_input_is_refused_with_a_precise_message(
    tmp_path: Path, args: list[str], said: str
) -> None:
    (tmp_path / "day.json").write_text(json.dumps(INSTANCE))
    (tmp_path / "A.json").write_text(json.dumps(STORE_OFF))
    (tmp_path / "bad.json").write_text(json.dumps({"ship_base": -1}))
    (tmp_path / "broken.json").write_text(json.dumps({**INSTANCE, "locations": []}))
    done = dom("simulate", *[str(tmp_path / a) if a.endswith(".json") else a for a in args])
    assert done.returncode != 0 and said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
