"""`dom allocate INSTANCE.json`: a plan on stdout, or a precise refusal on stderr with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alloc_factories import instance, location, pickup_order, ship_order
from typer.testing import CliRunner

from dom.cli import app


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def _small() -> dict:
    return instance(
        [
            location("DC-PARIS", "warehouse", 48.95, 2.55, ("ship", "transfer")),
            location("ST-001", "store", 45.76, 4.83, ("ship", "pickup"), capacity=20),
        ],
        [("DC-PARIS", "SKU-1", 12), ("ST-001", "SKU-1", 1)],
        [ship_order("O-1", 45.7, 4.8, ("SKU-1", 2)), pickup_order("O-2", "ST-001", ("SKU-1", 1))],
        version="2026-11-r3",
    )


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_dom_allocate_prints_a_plan_for_every_order_as_json(tmp_path: Path, mode: str) -> None:
    path = _write(tmp_path, _small())

    result = CliRunner().invoke(app, ["allocate", str(path), "--mode", mode, "--time-limit", "5"])

    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [o["id"] for o in plan["orders"]] == ["O-1", "O-2"]
    assert plan["rules_version"] == "2026-11-r3"
    assert plan["lower_bound"] <= plan["cost"] + 1e-9
    assert plan["orders"][1]["shipments"][0]["location"] == "ST-001"


@pytest.mark.parametrize("mode", ["online", "batch"])
@pytest.mark.parametrize("stocked", ["nowhere", "at zero"])
def test_a_line_of_a_sku_nobody_has_is_backordered_and_the_rest_is_planned(
    tmp_path: Path, mode: str, stocked: str
) -> None:
    data = _small()
    data["orders"][0]["lines"].append({"id": "9", "sku": "SKU-404", "quantity": 2})
    if stocked == "at zero":
        data["stock"].append({"location": "DC-PARIS", "sku": "SKU-404", "available": 0})
    path = _write(tmp_path, data)

    result = CliRunner().invoke(app, ["allocate", str(path), "--mode", mode, "--time-limit", "5"])

    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)["orders"]
    assert first["backordered"] == [
        {"id": "9", "quantity": 2, "reason": "no location has SKU-404 available"}
    ]
    assert [line["id"] for s in first["shipments"] for line in s["lines"]] == ["1"]
    assert second["shipments"][0]["location"] == "ST-001"


def _broken(change) -> dict:  # type: ignore[no-untyped-def]
    data = _small()
    change(data)
    return data


REFUSALS = {
    "unknown location": (
        lambda d: d["stock"].append({"location": "NOWHERE", "sku": "SKU-1", "available": 1}),
        "unknown location 'NOWHERE'",
    ),
    "negative quantity": (
        lambda d: d["orders"][0]["lines"][0].update(quantity=-2),
        "orders.0.lines.0.quantity",
    ),
    "negative stock": (lambda d: d["stock"][0].update(available=-1), "stock.0.available"),
    "missing pickup store": (
        lambda d: d["orders"][1]["delivery"].update(store="ST-999"),
        "pickup store 'ST-999' does not exist",
    ),
    "duplicate order": (lambda d: d["orders"][1].update(id="O-1"), "duplicate order id 'O-1'"),
    "duplicate line": (
        lambda d: d["orders"][0]["lines"].append({"id": "1", "sku": "SKU-1", "quantity": 1}),
        "duplicate line id '1'",
    ),
    "duplicate location": (
        lambda d: d["locations"].append(dict(d["locations"][0])),
        "duplicate location id 'DC-PARIS'",
    ),
    "unknown field": (lambda d: d["orders"][0].update(colour="red"), "orders.0.colour"),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_an_invalid_instance_is_refused_with_a_precise_message(tmp_path: Path, kind: str) -> None:
    change, message = REFUSALS[kind]
    path = _write(tmp_path, _broken(change))

    result = CliRunner().invoke(app, ["allocate", str(path)])

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["allocate", str(_write(tmp_path, "{not json"))])

    assert result.exit_code == 2
    assert "cannot read" in result.stderr
