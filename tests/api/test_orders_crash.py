"""A server killed with SIGKILL in the middle of order submissions and shipment events, then
started again on the same data: every order and event it acknowledged is there as it was
answered; every request retried with the same id, answered before the kill or not, is either a
replay of the first answer or takes effect once; and the ledger holds: nothing oversold,
reserved is exactly the open shipments' units, and each shipped or damaged unit left on_hand
once."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import bindparam, text

from tests.api.conftest import sku, stock
from tests.api.orders_ledger import contributions, database_of, ledger_of, line_units
from tests.api.served import Served, crash, restart

# Orders left waiting (a rejection's re-route that the kill cut short) are routed again by the
# periodic sweep: often here, so the test need not wait long for it.
SERVER_ENV = {"DOM_ORDER_SWEEP_INTERVAL_S": "1"}

SUPPLY = {"WH-1": 400, "ST-1": 400}  # of each SKU: every order is routed whole
SKUS = 2
PRE_ORDERS = 40  # acknowledged before the traffic: their shipments get the events
SUBMITTERS, POSTERS = 3, 3
ORDERS_PER_SUBMITTER = 200  # more than can be sent before the kill
KILL_AFTER = {"order": 12, "event": 20}  # acknowledgements of each kind before the kill
QUIET_WITHIN_S = 20.0
LYON = {"method": "ship", "lat": 45.75, "lon": 4.85}
PARIS = {"method": "ship", "lat": 48.85, "lon": 2.35}
# The events each shipment is sent, in order, and the status each moves it to.
SCRIPTS: list[list[tuple[str, str | None, str]]] = [
    [("accepted", None, "accepted"), ("shipped", None, "shipped")],
    [("shipped", None, "shipped")],
    [("rejected", "no_capacity", "rejected")],
    [("accepted", None, "accepted"), ("rejected", "damaged", "rejected")],
]


@dataclass
class Sent:
    """One request: what it was, and its answer (None: the kill came first)."""

    kind: str  # "order" or "event"
    key: Any  # the order id, or (shipment id, event type)
    body: dict
    answer: httpx.Response | None = None


@dataclass
class Traffic:
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self, kind: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.kind == kind and s.answer is not None]

    def run(self, client: httpx.Client, requests: list[tuple[Sent, str]]) -> None:
        """Send one request after another until the server is gone."""
        for sent, path in requests:
            with self.lock:
                self.sent.append(sent)
            try:
                answer = client.post(path, json=sent.body)
            except httpx.TransportError:
                return
            with self.lock:
                sent.answer = answer


def an_order(rng: random.Random, skus: list[str]) -> dict:
    chosen = rng.sample(skus, rng.randint(1, len(skus)))
    return {
        "id": f"O-{uuid.uuid4().hex[:12]}",
        "delivery": rng.choice([LYON, PARIS]),
        "lines": [{"id": f"L{n}", "sku": s, "quantity": rng.randint(1, 3)}
                  for n, s in enumerate(chosen, 1)],
    }  # fmt: skip


def event_body(kind: str, reason: str | None) -> dict:
    return {"type": kind} | ({"reason": reason} if reason else {})


def test_a_server_killed_mid_traffic_keeps_what_it_acknowledged_and_retries_are_harmless(
    api: Served,
) -> None:
    rng = random.Random(7)
    skus = [sku() for _ in range(SKUS)]
    stock(api, *[(loc, s, units) for s in skus for loc, units in SUPPLY.items()])
    key = api.key("orders:write", name="the OMS")
    oms = api.client(key)
    pre = []
    for _ in range(PRE_ORDERS):
        answer = oms.post("/v1/orders", json=an_order(rng, skus))
        assert answer.status_code == 201 and answer.json()["status"] == "routed", answer.text
        pre.append(answer.json())
    scripts = {
        shipment["id"]: SCRIPTS[n % len(SCRIPTS)]
        for n, shipment in enumerate(s for order in pre for s in order["shipments"])
    }

    # Orders and shipment events from several threads; the kill while they are in flight.
    traffic = Traffic()
    work: list[list[tuple[Sent, str]]] = []
    for _ in range(SUBMITTERS):
        orders = [an_order(rng, skus) for _ in range(ORDERS_PER_SUBMITTER)]
        work.append([(Sent("order", o["id"], o), "/v1/orders") for o in orders])
    shipment_ids = list(scripts)
    for n in range(POSTERS):
        work.append([
            (Sent("event", (sid, kind), event_body(kind, reason)), f"/v1/shipments/{sid}/events")
            for sid in shipment_ids[n::POSTERS]
            for kind, reason, _ in scripts[sid]
        ])  # fmt: skip
    clients = [api.client(key) for _ in work]
    threads = [
        threading.Thread(target=traffic.run, args=(client, requests), daemon=True)
        for client, requests in zip(clients, work, strict=True)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while any(len(traffic.acknowledged(k)) < n for k, n in KILL_AFTER.items()):
        assert time.monotonic() < deadline, "the traffic did not flow"
        time.sleep(0.005)
    crash(api)
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()

    answered = [(s, s.answer) for s in traffic.sent if s.answer is not None]
    assert len(answered) < len(traffic.sent), "the kill found no request in flight"
    improper = [(s.key, a.status_code, a.text) for s, a in answered if not a.is_success]
    assert improper == []
    acked_orders = {s.key: a.json() for s, a in answered if s.kind == "order"}
    acked_events = {s.key: a.json() for s, a in answered if s.kind == "event"}
    assert len(acked_orders) >= KILL_AFTER["order"] and len(acked_events) >= KILL_AFTER["event"]
    for shipment_id, script in scripts.items():
        for kind, _, status in script:
            if (shipment_id, kind) in acked_events:
                assert acked_events[(shipment_id, kind)]["status"] == status

    with restart(api) as again:
        oms = again.client(key)  # the keys are in SQL: they outlive the crash

        # What was acknowledged is there, as it was answered.
        for order_id, answer in acked_orders.items():
            assert oms.get(f"/v1/orders/{order_id}").json() == answer
        attempted = {s.key for s in traffic.sent if s.kind == "event"}
        for shipment_id, script in scripts.items():
            done = [k for k, _, _ in script if (shipment_id, k) in acked_events]
            assert done == [k for k, _, _ in script][: len(done)]  # one thread, in order
            could_be = {_status_after(script, len(done))}
            if len(done) < len(script) and (shipment_id, script[len(done)][0]) in attempted:
                could_be.add(_status_after(script, len(done) + 1))  # in flight at the kill
            now = oms.get(f"/v1/shipments/{shipment_id}").json()
            assert now["status"] in could_be, (shipment_id, done, now)
            history = _history(oms, now["order"], shipment_id)
            for kind in done:
                assert history[f"shipment.{kind}"] == 1, (shipment_id, history)

        # Every request again, with the same ids: a replay of the first answer, or done once.
        for sent in traffic.sent:
            if sent.kind != "order":
                continue
            first = oms.post("/v1/orders", json=sent.body)
            assert first.status_code == 201, first.text
            if sent.key in acked_orders:
                assert first.headers.get("idempotent-replayed") == "true"
                assert first.json() == acked_orders[sent.key]
            twice = oms.post("/v1/orders", json=sent.body)
            assert twice.status_code == 201 and twice.json() == first.json()
            assert twice.headers.get("idempotent-replayed") == "true"
            assert oms.get(f"/v1/orders/{sent.key}").json() == first.json()
        for shipment_id, script in scripts.items():
            for kind, reason, _ in script + script:  # the whole script, then all of it again
                posted = oms.post(
                    f"/v1/shipments/{shipment_id}/events", json=event_body(kind, reason)
                )
                assert posted.status_code == 200, posted.text
                if (shipment_id, kind) in acked_events:
                    assert posted.headers.get("idempotent-replayed") == "true"
                    first = acked_events[(shipment_id, kind)]
                    # The shipment as it stands: the same one, moved on by any later event.
                    same = ("id", "order", "location", "route", "lines")
                    assert {k: posted.json()[k] for k in same} == {k: first[k] for k in same}
                    if kind == script[-1][0]:
                        assert posted.json()["status"] == first["status"]
            assert posted.headers.get("idempotent-replayed") == "true"
            assert posted.json()["status"] == script[-1][2]
            history = _history(oms, posted.json()["order"], shipment_id)
            assert history == Counter(f"shipment.{k}" for k, _, _ in script), history

        # Rejected lines are routed again elsewhere (by the sweep, where the kill cut it short).
        ids = [o["id"] for o in pre] + [s.key for s in traffic.sent if s.kind == "order"]
        deadline = time.monotonic() + QUIET_WITHIN_S
        while True:
            orders = [oms.get(f"/v1/orders/{order_id}").json() for order_id in ids]
            waiting = [o["id"] for o in orders if o["backordered"]]
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert waiting == []
        _check_ledger(again, skus, orders, scripts)


def _status_after(script: list[tuple[str, str | None, str]], done: int) -> str:
    return script[done - 1][2] if done else "allocated"


def _history(oms: httpx.Client, order_id: str, shipment_id: str) -> Counter[str]:
    entries = oms.get(f"/v1/orders/{order_id}/history").json()
    return Counter(e["kind"] for e in entries if e["shipment"] == shipment_id)


def _check_ledger(
    api: Served, skus: list[str], orders: list[dict], scripts: dict[str, list]
) -> None:
    """Each position: on_hand dropped once per unit shipped or written off as damaged, reserved
    is the open shipments' units, never more than may be sold; SQL, the projection and the
    engine's reconcile agree. Each shipped shipment settled once."""
    left: Counter[tuple[str, str]] = Counter()
    held: Counter[tuple[str, str]] = Counter()
    shipped: set[str] = set()
    for order in orders:
        assert order["status"] in {"routed", "partly_fulfilled", "fulfilled"}, order
        sku_of = {line["id"]: line["sku"] for line in order["lines"]}
        wanted = {line["id"]: (line["quantity"], 0) for line in order["lines"]}
        assert line_units(order) == wanted, order  # every unit allocated, none waiting
        for shipment in order["shipments"]:
            for line in shipment["lines"]:
                where = (shipment["location"], sku_of[line["id"]])
                if shipment["status"] == "shipped":
                    left[where] += line["quantity"]
                    shipped.add(shipment["id"])
                elif shipment["rejection"] == "damaged":
                    left[where] += line["quantity"]
                elif shipment["status"] in ("allocated", "accepted"):
                    held[where] += line["quantity"]
                else:
                    assert shipment["status"] == "rejected", shipment
    assert shipped and left and held
    expected = {
        (loc, s): (units - left[(loc, s)], held[(loc, s)])
        for s in skus
        for loc, units in SUPPLY.items()
    }
    positions, kept, statuses = ledger_of(api, skus)
    assert {k: (on_hand, reserved) for k, (on_hand, reserved, _) in positions.items()} == expected
    assert kept == Counter({k: v for k, v in held.items() if v})
    for (loc, s), (on_hand, reserved, safety) in positions.items():
        assert 0 <= reserved <= on_hand - safety, (loc, s, on_hand, reserved, safety)
    projected = {
        (p["location"], s): (p["on_hand"], p["reserved"])
        for s in skus
        for p in contributions(api.client(api.key("availability:read")), s)
    }
    assert projected == expected
    with database_of(api) as sql, sql.connect() as conn:
        settlements = Counter(
            conn.execute(
                text("SELECT shipment_id FROM settlement WHERE shipment_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": sorted(scripts)},
            ).scalars()
        )
    assert settlements == Counter({shipment_id: 1 for shipment_id in shipped & set(scripts)})
    report = api.admin().post("/v1/admin/reconcile", json={}).json()
    assert report["drifts"] == [] and report["short"] == [], [d["detail"] for d in report["drifts"]]
    assert statuses["held"] == 0, statuses
