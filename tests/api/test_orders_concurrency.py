"""Several OS processes submitting orders for the same few hot SKUs through the API at once, with
cart holds racing them and some shipments leaving meanwhile. Demand is several times the supply.
Once the last client is done and parked orders have been routed again, every unit there was is
allocated (shipped, or held by an open shipment), the rest of the demand is backordered, every
order's lines add up, and each position's reserved is exactly what its open holds keep there,
never more than it has, in SQL, in the projection and by the engine's own reconcile."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import traceback
import uuid
from collections import Counter
from typing import Any

import httpx

from tests.api.conftest import sku, stock
from tests.api.orders_ledger import GONE, contributions, ledger_of, line_units
from tests.api.served import Served

# Parked orders are routed again by a periodic sweep (and by stock feeds): often enough here
# that units a released cart gives back find their parked order within the test.
SERVER_ENV = {"DOM_ORDER_SWEEP_INTERVAL_S": "1"}

PROCESSES = 6
ORDERS_PER_PROCESS = 20
CART_SHARE = 0.5  # orders whose customer first holds a cart
SETTLE_SHARE = 0.3  # orders whose shipments leave (or are collected) at once
SUPPLY = {"WH-1": 24, "ST-1": 14, "ST-2": 8}  # of each hot SKU
HOT_SKUS = 3
ALL_ALLOCATED_WITHIN_S = 30.0
DELIVERIES = [
    {"method": "ship", "lat": 45.75, "lon": 4.85},  # Lyon, beside ST-1
    {"method": "ship", "lat": 48.85, "lon": 2.35},  # Paris, beside WH-1
    {"method": "pickup", "store": "ST-1"},  # from its shelf, or a transfer from WH-1
    {"method": "pickup", "store": "ST-2"},  # from its shelf (its only use), or WH-1
]
SETTLING_EVENTS = {"ship": ["shipped"], "transfer": ["shipped"], "shelf": ["ready_for_pickup", "collected"]}  # fmt: skip
SETTLED = {"ship": {"shipped"}, "transfer": {"shipped", "ready_for_pickup", "collected"},
           "shelf": {"collected"}}  # fmt: skip
OPEN = {"allocated", "accepted"}
KNOWN = {"routed", "parked", "partly_fulfilled", "fulfilled"}


def an_order(rng: random.Random, skus: list[str], order_id: str) -> dict:
    chosen = rng.sample(skus, rng.randint(1, min(3, len(skus))))
    return {
        "id": order_id,
        "delivery": rng.choice(DELIVERIES),
        "lines": [{"id": f"L{n}", "sku": s, "quantity": rng.randint(1, 3)}
                  for n, s in enumerate(chosen, 1)],
    }  # fmt: skip


def client_process(
    url: str, key: str, skus: list[str], seed: int, late_cart: dict, go: Any, out: Any
) -> None:
    """One OS process: its own client, its own orders, one after another as fast as answered,
    then `late_cart` given back: its units reach the orders parked by then only by their being
    routed again. Puts on `out` what it sent and every answer it got, or what went wrong."""
    try:
        out.put(_submit_orders(url, key, skus, seed, late_cart, go))
    except BaseException:
        out.put({"error": traceback.format_exc()})
        raise


def _submit_orders(
    url: str, key: str, skus: list[str], seed: int, late_cart: dict, go: Any
) -> dict:
    rng = random.Random(seed)
    done: list[dict] = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        go.wait(60)
        for n in range(ORDERS_PER_PROCESS):
            order = an_order(rng, skus, f"O-{seed}-{n}-{uuid.uuid4().hex[:6]}")
            record: dict[str, Any] = {"order": order, "cart": None, "events": []}
            if rng.random() < CART_SHARE:
                record["cart"] = cart = _hold_cart(client, order, consume=rng.random() < 0.5)
                if cart["consumed"]:
                    order["reservation"] = cart["id"]
            answer = client.post("/v1/orders", json=order)
            record["status"], record["answer"] = answer.status_code, answer.json()
            cart = record["cart"]
            if cart is not None and cart["held"] and not cart["consumed"]:
                released = client.delete(f"/v1/reservations/{cart['id']}")
                cart["released"] = (released.status_code, released.json().get("status"))
            if cart is not None and cart["held"]:
                after = client.get(f"/v1/reservations/{cart['id']}")
                cart["after"] = (after.status_code, after.json().get("status"))
            if answer.status_code == 201 and rng.random() < SETTLE_SHARE:
                for shipment in answer.json()["shipments"]:
                    for kind in SETTLING_EVENTS[shipment["route"]]:
                        posted = client.post(
                            f"/v1/shipments/{shipment['id']}/events", json={"type": kind}
                        )
                        record["events"].append((shipment["id"], kind, posted.status_code))
            done.append(record)
        released = client.delete(f"/v1/reservations/{late_cart['id']}")
        late_cart["released"] = (released.status_code, released.json().get("status"))
        late_cart["after"] = late_cart["released"]
    return {"orders": done, "cart": late_cart}


def _hold_cart(client: httpx.Client, order: dict, consume: bool) -> dict:
    """The customer's cart, held for the order's lines at checkout (refused when short)."""
    delivery = order["delivery"]
    body: dict[str, Any] = {
        "id": f"cart-{uuid.uuid4().hex[:12]}", "method": delivery["method"], "ttl_s": 600,
        "lines": [{"sku": ln["sku"], "quantity": ln["quantity"]} for ln in order["lines"]],
    }  # fmt: skip
    if delivery["method"] == "pickup":
        body["store"] = delivery["store"]
    answer = client.post("/v1/reservations", json=body)
    held = answer.status_code == 201
    assert held or answer.status_code == 409, answer.text
    return {"id": body["id"], "held": held, "consumed": held and consume,
            "status": answer.status_code}  # fmt: skip


class Watcher:
    """Reads every hot position from the projection (availability's explanation) while the
    clients run, and keeps any reading where more is reserved than may be sold."""

    def __init__(self, client: httpx.Client, skus: list[str]) -> None:
        self.client, self.skus = client, skus
        self.stop = threading.Event()
        self.readings = 0
        self.oversold: list[dict] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for item in self.skus:
                for part in contributions(self.client, item):
                    self.readings += 1
                    if part["reserved"] > part["on_hand"] - part["safety"] or part["on_hand"] < 0:
                        self.oversold.append(part)
            time.sleep(0.05)


def unsold(client: httpx.Client, skus: list[str]) -> int:
    return sum(
        p["on_hand"] - p["reserved"] - p["safety"] for s in skus for p in contributions(client, s)
    )


def test_concurrent_orders_for_hot_skus_allocate_exactly_the_supply_and_never_oversell(
    api: Served,
) -> None:
    skus = [sku() for _ in range(HOT_SKUS)]
    stock(api, *[(loc, s, units) for s in skus for loc, units in SUPPLY.items()])
    supply_per_sku = sum(SUPPLY.values())
    key = api.key("orders:write", "reservations:write", name="the shop")
    viewer = api.client(api.key("availability:read", name="a watcher"))
    assert unsold(viewer, skus) == supply_per_sku * HOT_SKUS
    shop = api.client(key)
    late = {"delivery": DELIVERIES[0], "lines": [{"sku": s, "quantity": 1} for s in skus]}
    late_carts = [_hold_cart(shop, late, consume=False) for _ in range(PROCESSES)]
    assert all(cart["held"] for cart in late_carts), late_carts
    assert unsold(viewer, skus) == (supply_per_sku - PROCESSES) * HOT_SKUS
    spawn = multiprocessing.get_context("spawn")
    go, out = spawn.Event(), spawn.Queue()
    processes = [
        spawn.Process(target=client_process, args=(api.url, key, skus, seed, cart, go, out))
        for seed, cart in enumerate(late_carts, 1)
    ]
    for process in processes:
        process.start()
    watcher = Watcher(viewer, skus)
    watcher.thread.start()
    go.set()
    try:
        results = [out.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(30)
        watcher.stop.set()
        watcher.thread.join(30)
    assert [r.get("error") for r in results] == [None] * PROCESSES
    assert [p.exitcode for p in processes] == [0] * PROCESSES

    records = [r for result in results for r in result["orders"]]
    late_carts = [result["cart"] for result in results]

    # Every submission answered, with a plan whose units add up.
    assert len(records) == PROCESSES * ORDERS_PER_PROCESS
    demand = Counter()
    for record in records:
        order, answer = record["order"], record["answer"]
        assert record["status"] == 201, answer
        assert answer["id"] == order["id"] and answer["status"] in {"routed", "parked"}
        assert all(s["status"] == "allocated" for s in answer["shipments"])
        units = line_units(answer)
        for line in order["lines"]:
            assert sum(units[line["id"]]) == line["quantity"], answer
            demand[line["sku"]] += line["quantity"]
        assert all(status == 200 for _, _, status in record["events"]), record["events"]
    assert all(demand[s] > 2 * supply_per_sku for s in skus), demand  # well above supply
    carts = [r["cart"] for r in records if r["cart"] is not None] + late_carts
    assert any(c["held"] for c in carts) and any(c["status"] == 409 for c in carts)
    for cart in carts:
        if cart["held"]:  # taken over by its order, or given back: released either way
            assert cart["after"] == (200, "released"), cart
            if not cart["consumed"]:
                assert cart["released"] == (200, "released"), cart

    # Parked orders are routed again as carts give units back, until nothing is left unsold.
    deadline = time.monotonic() + ALL_ALLOCATED_WITHIN_S
    while unsold(viewer, skus) and time.monotonic() < deadline:
        time.sleep(0.2)
    oms = api.client(key)
    orders = [oms.get(f"/v1/orders/{r['order']['id']}").json() for r in records]
    settled_events = {(s, k) for r in records for s, k, _ in r["events"]}

    # Every unit there was is allocated: shipped, or held by an open shipment.
    allocated: Counter[str] = Counter()
    settled: Counter[tuple[str, str]] = Counter()
    held: Counter[tuple[str, str]] = Counter()
    skus_of = {}
    for order in orders:
        assert order["status"] in KNOWN, order
        skus_of.update({(order["id"], ln["id"]): ln["sku"] for ln in order["lines"]})
        for line in order["lines"]:
            shipped, waiting = line_units(order)[line["id"]]
            assert shipped + waiting == line["quantity"] and line["cancelled"] == 0, order
        for shipment in order["shipments"]:
            assert shipment["status"] not in GONE, shipment  # nothing was rejected or cancelled
            for line in shipment["lines"]:
                where = (shipment["location"], skus_of[(order["id"], line["id"])])
                allocated[where[1]] += line["quantity"]
                if shipment["status"] in SETTLED[shipment["route"]]:
                    settled[where] += line["quantity"]
                    last = SETTLING_EVENTS[shipment["route"]][-1]
                    assert (shipment["id"], last) in settled_events, shipment
                else:
                    assert shipment["status"] in OPEN, shipment
                    held[where] += line["quantity"]
        assert order["status"] == expected_status(order), order
    assert allocated == {s: supply_per_sku for s in skus}, (allocated, unsold(viewer, skus))
    backordered = Counter()
    for order in orders:
        for b in order["backordered"]:
            backordered[b["sku"]] += b["quantity"]
    assert backordered == {s: demand[s] - supply_per_sku for s in skus}
    assert sum(settled.values()) > 0 and sum(held.values()) > 0
    # The units the last clients gave back reached orders parked by then: routed again.
    causes = Counter(
        entry["detail"].get("cause")
        for order in orders
        for entry in oms.get(f"/v1/orders/{order['id']}/history").json()
        if entry["kind"] == "rerouted"
    )
    assert causes["stock_arrived"] > 0 and set(causes) == {"stock_arrived"}, causes

    # The ledger: on_hand dropped once per unit that left, reserved is the open shipments' units
    # and every open hold's, never more than may be sold. SQL, the projection, reconcile agree.
    expected = {
        (loc, s): (units - settled[(loc, s)], held[(loc, s)])
        for s in skus
        for loc, units in SUPPLY.items()
    }
    positions, kept, statuses = ledger_of(api, skus)
    assert statuses["held"] == 0, statuses  # every cart was taken over or given back
    assert {k: (on_hand, reserved) for k, (on_hand, reserved, _) in positions.items()} == expected
    assert kept == Counter({k: v for k, v in held.items() if v})
    for (loc, s), (on_hand, reserved, safety) in positions.items():
        assert 0 <= reserved <= on_hand - safety, (loc, s, on_hand, reserved, safety)
    projected = {
        (p["location"], s): (p["on_hand"], p["reserved"])
        for s in skus
        for p in contributions(viewer, s)
    }
    assert projected == expected
    assert unsold(viewer, skus) == 0
    report = api.admin().post("/v1/admin/reconcile", json={}).json()
    assert report["drifts"] == [] and report["short"] == [], report
    assert watcher.readings > 0 and watcher.oversold == [], watcher.oversold[:5]


def expected_status(order: dict) -> str:
    """An order's status from its shipments and backorders (DESIGN's order states)."""
    live = [s for s in order["shipments"] if s["status"] not in GONE]
    done = [s for s in live if s["status"] not in OPEN]
    finished = all(
        s["status"] == "collected" or (s["route"] == "ship" and s["status"] == "shipped")
        for s in live
    )
    if order["backordered"]:
        return "partly_fulfilled" if done else "parked"
    if finished:
        return "fulfilled"
    return "partly_fulfilled" if done else "routed"
