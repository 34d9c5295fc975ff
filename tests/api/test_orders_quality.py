"""Orders submitted through the API one after another cost exactly what the allocation core's
online mode plans for the same orders on the same stock (`dom allocate --mode online`): routing
live adds no loss. The stock is the simulation's snapshot of the ledger, taken before the
orders are submitted."""

from __future__ import annotations

import random

import pytest

from allocation import allocate
from tests.api.conftest import sku, stock
from tests.api.served import Served

ORDERS = 40


def test_orders_routed_live_cost_what_the_online_plan_costs(api: Served) -> None:
    items = [sku() for _ in range(4)]
    chosen = random.Random(7)
    stock(api, *[(place, item, chosen.randint(0, 12)) for item in items
                 for place in ("WH-1", "ST-1")])  # fmt: skip
    deliveries = [{"method": "ship", "lat": 45.75, "lon": 4.85},
                  {"method": "ship", "lat": 48.80, "lon": 2.30},
                  {"method": "pickup", "store": "ST-2"}, {"method": "pickup", "store": "ST-1"}]  # fmt: skip
    orders = [
        {"id": f"Q-{n}-{items[0][-6:]}", "delivery": chosen.choice(deliveries),
         "lines": [{"id": f"L{k}", "sku": item, "quantity": chosen.randint(1, 3),
                    "price": 25.0} for k, item in enumerate(chosen.sample(items, 2))]}
        for n in range(ORDERS)
    ]  # fmt: skip
    planner = api.client(api.key("rules:write", name="planner"))
    oms = api.client(api.key("orders:write", name="the OMS"))
    snapshot = planner.post("/v1/simulations", json={"orders": orders, "rule_sets": ["default"]})
    assert snapshot.status_code == 202, snapshot.text
    instance = planner.get(f"/v1/simulations/{snapshot.json()['id']}/instance").json()
    planner.post(f"/v1/simulations/{snapshot.json()['id']}/cancel")  # the snapshot is enough
    plan = allocate(instance, mode="online")

    costs = {}
    for order in orders:
        answer = oms.post("/v1/orders", json=order)
        assert answer.status_code == 201, answer.text
        costs[order["id"]] = answer.json()["cost"]
    planned = {o["id"]: o["cost"] for o in plan["orders"]}
    assert costs == pytest.approx(planned, abs=1e-3)
    assert sum(costs.values()) == pytest.approx(plan["cost"], abs=1e-2)
    assert plan["summary"]["units_backordered"] > 0  # stock ran short: decisions had to choose
