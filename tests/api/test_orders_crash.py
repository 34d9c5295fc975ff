"""A server killed with SIGKILL in the middle of order submissions and shipment events, then
restarted on the same data, on both backends: every acknowledged order and event is there,
retries of every id are harmless, and the ledger agrees with what was acknowledged."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx

from tests.api.conftest import sku, stock
from tests.api.served import Served, serve
from tests.api.test_orders import LYON, live, units

THREADS = 4
STOCK = {"ST-1": 30, "WH-1": 60}


class Traffic:
    """What the clients sent, and what the server acknowledged (2xx) before it died."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, Any]] = {}  # every order sent, by id
        self.answered: dict[str, dict[str, Any]] = {}  # order id: its 201 answer
        self.events: list[tuple[str, str]] = []  # every (shipment, event) sent
        self.taken: set[tuple[str, str]] = set()  # those answered 200

    def run(self, url: str, key: str, item: str, stop: threading.Event) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"},
                          timeout=10) as client:  # fmt: skip
            while not stop.is_set():
                order = {"id": f"O-{uuid.uuid4().hex[:12]}", "delivery": LYON,
                         "lines": [{"id": "L1", "sku": item, "quantity": 1}]}  # fmt: skip
                with self.lock:
                    self.orders[order["id"]] = order
                try:
                    answer = client.post("/v1/orders", json=order)
                    if answer.status_code != 201:
                        continue
                    with self.lock:
                        self.answered[order["id"]] = answer.json()
                    for shipment in answer.json()["shipments"]:
                        for kind in ("accepted", "shipped"):
                            with self.lock:
                                self.events.append((shipment["id"], kind))
                            done = client.post(f"/v1/shipments/{shipment['id']}/events",
                                               json={"type": kind})  # fmt: skip
                            if done.status_code == 200:
                                with self.lock:
                                    self.taken.add((shipment["id"], kind))
                except httpx.HTTPError:
                    return  # the server is gone


def test_a_server_killed_mid_traffic_keeps_every_acknowledged_write(api: Served) -> None:
    item = sku()
    stock(api, *[(location, item, units_there) for location, units_there in STOCK.items()])
    key = api.key("orders:write", name="the OMS")
    traffic, stop = Traffic(), threading.Event()
    clients = [
        threading.Thread(target=traffic.run, args=(api.url, key, item, stop))
        for _ in range(THREADS)
    ]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 30
    while len(traffic.taken) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    api.process.kill()  # SIGKILL, in the middle of it
    api.process.wait()
    stop.set()
    for client in clients:
        client.join(30)
    assert len(traffic.answered) >= 10 and traffic.taken, "traffic ran before the kill"

    with serve(api.data_dir, api.env) as again:
        oms = again.client(key)
        for order_id, answer in traffic.answered.items():  # every acknowledged order is there
            found = oms.get(f"/v1/orders/{order_id}").json()
            assert [s["id"] for s in found["shipments"]] == [s["id"] for s in answer["shipments"]]
        for shipment_id, kind in traffic.taken:  # and every acknowledged event
            status = oms.get(f"/v1/shipments/{shipment_id}").json()["status"]
            assert status == "shipped" or (kind == "accepted" and status == "accepted"), status

        for order_id, order in traffic.orders.items():  # retries of every id are harmless
            retried = oms.post("/v1/orders", json=order)
            assert retried.status_code == 201, retried.text
            if order_id in traffic.answered:
                assert retried.headers["idempotent-replayed"] == "true"
                assert retried.json() == traffic.answered[order_id]
        for shipment_id, kind in traffic.events:
            retried = oms.post(f"/v1/shipments/{shipment_id}/events", json={"type": kind})
            assert retried.status_code in (200, 409), retried.text  # 409: it shipped meanwhile
            if (shipment_id, kind) in traffic.taken:
                assert retried.status_code == 200
                assert retried.headers["idempotent-replayed"] == "true"
        for order_id in traffic.orders:  # what is still open leaves now, once
            for shipment in live(oms.get(f"/v1/orders/{order_id}").json()):
                oms.post(f"/v1/shipments/{shipment['id']}/events", json={"type": "shipped"})

        shipped: dict[str, int] = defaultdict(int)
        for order_id in traffic.orders:
            for shipment in live(oms.get(f"/v1/orders/{order_id}").json()):
                assert shipment["status"] == "shipped"
                shipped[shipment["location"]] += sum(ln["quantity"] for ln in shipment["lines"])
        viewer = again.client(again.key("availability:read"))
        for location, there in STOCK.items():
            assert units(viewer, item, location) == (there - shipped[location], 0)
        assert sum(shipped.values()) == min(len(traffic.orders), sum(STOCK.values()))
        checked = again.admin().post("/v1/admin/reconcile", json={})
        assert checked.json()["drifts"] == [] and checked.json()["short"] == []
