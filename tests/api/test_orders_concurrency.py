"""Several processes submitting orders for the same hot SKUs through the real server, on both
backends: exactly the units there were are allocated, the rest backordered; no position is
oversold; reserved is the units of the open allocations; the ledger and its projection agree."""

from __future__ import annotations

import multiprocessing
import random
import uuid
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import httpx

from tests.api.conftest import sku, stock
from tests.api.served import Served
from tests.api.test_orders import LYON, live, units

PROCESSES = 4
ORDERS_EACH = 10
SUPPLY = {("ST-1", 0): 3, ("WH-1", 0): 4, ("WH-1", 1): 5}  # (location, hot SKU n): units


def submit_orders(url: str, key: str, skus: list[str], seed: int) -> list[dict]:
    """One process's share: orders of one or two lines of the hot SKUs, ship or pickup."""
    chosen = random.Random(seed)
    answers = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        for _ in range(ORDERS_EACH):
            lines = chosen.sample(range(len(skus)), chosen.choice([1, 2]))
            delivery = LYON if chosen.random() < 0.7 else {"method": "pickup", "store": "ST-1"}
            order = {
                "id": f"O-{uuid.uuid4().hex[:12]}", "delivery": delivery,
                "lines": [{"id": f"L{n}", "sku": skus[n], "quantity": chosen.choice([1, 2])}
                          for n in lines],
            }  # fmt: skip
            answer = c.post("/v1/orders", json=order)
            assert answer.status_code == 201, answer.text
            answers.append(answer.json() | {"submitted": order})
    return answers


def test_concurrent_orders_for_hot_skus_allocate_exactly_the_stock_there_is(api: Served) -> None:
    skus = [sku(), sku()]
    stock(api, *[(loc, skus[n], units) for (loc, n), units in SUPPLY.items()])
    key = api.key("orders:write", name="the OMS")
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool:
        shares = pool.map(submit_orders, [api.url] * PROCESSES, [key] * PROCESSES,
                          [skus] * PROCESSES, range(PROCESSES))  # fmt: skip
        answers = [a for share in shares for a in share]
    assert len(answers) == PROCESSES * ORDERS_EACH

    oms = api.client(key)
    viewer = api.client(api.key("availability:read", name="checkout"))
    allocated: dict[tuple[str, str], int] = defaultdict(int)
    wanted: dict[str, int] = defaultdict(int)
    for answer in answers:
        order = oms.get(f"/v1/orders/{answer['id']}").json()
        assert order == {k: v for k, v in answer.items() if k != "submitted"}  # as answered
        line_sku = {line["id"]: line["sku"] for line in answer["submitted"]["lines"]}
        placed: dict[str, int] = defaultdict(int)
        for shipment in live(order):
            for line in shipment["lines"]:
                allocated[(shipment["location"], line_sku[line["id"]])] += line["quantity"]
                placed[line["id"]] += line["quantity"]
        for waiting in order["backordered"]:
            placed[waiting["id"]] += waiting["quantity"]
        for line in answer["submitted"]["lines"]:
            assert placed[line["id"]] == line["quantity"], order  # allocated or backordered
            wanted[line["sku"]] += line["quantity"]
        assert order["status"] in ("routed", "parked")
    for n, item in enumerate(skus):
        supply = sum(u for (_, m), u in SUPPLY.items() if m == n)
        assert wanted[item] > supply  # the race is real: demand exceeds what there is
        assert sum(u for (_, s), u in allocated.items() if s == item) == supply
    for (location, n), units_there in SUPPLY.items():
        on_hand, reserved = units(viewer, skus[n], location)
        assert on_hand == units_there and reserved == allocated[(location, skus[n])] <= on_hand
    checked = api.admin().post("/v1/admin/reconcile", json={})
    assert checked.status_code == 200, checked.text
    assert checked.json()["drifts"] == [] and checked.json()["short"] == []  # SQL = projection
