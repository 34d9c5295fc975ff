"""Experiments over HTTP against a real server: live orders split between the active rule set
and a draft by a stable hash of the order id, each order's arm recorded, the arms reported with
confidence intervals, and the experiment stopped keeping the winner."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import sku, stock
from tests.api.served import Served
from tests.api.test_orders import an_order, assert_problem, submit


@pytest.fixture(scope="module")
def planner(api: Served) -> httpx.Client:
    return api.client(api.key("rules:write", name="planner"))


def test_orders_split_between_the_arms_and_the_winner_is_kept(
    api: Served, planner: httpx.Client
) -> None:
    oms = api.client(api.key("orders:write", name="the OMS"))
    item = sku()
    stock(api, ("ST-1", item, 500), ("WH-1", item, 500))
    control = next(v for v in planner.get("/v1/rule-sets").json() if v["status"] == "active")
    made = planner.post("/v1/rule-sets", json={
        "name": "no Lyon store", "rules": {"exclusions": [{"location": "ST-1"}]}}).json()  # fmt: skip
    treatment = made["version"]
    started = planner.post("/v1/experiments", json={
        "name": "warehouse only", "treatment": treatment, "share": 0.5, "reason": "try"})  # fmt: skip
    assert started.status_code == 201, started.text
    experiment = started.json()
    assert (experiment["status"], experiment["control"], experiment["treatment"]) == (
        "running", control["version"], treatment)  # fmt: skip
    assert "is running" in assert_problem(planner.post(
        f"/v1/rule-sets/{treatment}/activate", json={"reason": "early"}), 409)["detail"]  # fmt: skip
    assert_problem(planner.put(f"/v1/rule-sets/{treatment}", json={"rules": {}}), 409)
    assert_problem(planner.post("/v1/experiments", json={
        "name": "two", "treatment": treatment, "share": 0.1, "reason": "x"}), 409)  # fmt: skip

    orders = [submit(oms, an_order((item, 1))) for _ in range(60)]
    arms = {o["id"]: o["rule_set"] for o in orders}
    by_treatment = [o for o in orders if o["rule_set"] == treatment]
    by_control = [o for o in orders if o["rule_set"] == control["version"]]
    assert len(by_treatment) + len(by_control) == 60 and 15 <= len(by_treatment) <= 45
    assert {s["location"] for o in by_treatment for s in o["shipments"]} == {"WH-1"}
    assert {s["location"] for o in by_control for s in o["shipments"]} == {"ST-1"}
    again = oms.post("/v1/orders", json={**an_order((item, 2)), "id": orders[0]["id"]})
    assert again.status_code == 409  # another body: refused, and counted nowhere

    report = planner.get(f"/v1/experiments/{experiment['id']}").json()["report"]
    assert report["control"]["orders"] == len(by_control)
    assert report["treatment"]["orders"] == len(by_treatment)
    assert report["treatment"]["version"] == treatment
    assert report["control"]["mean"] == pytest.approx(
        sum(o["cost"] for o in by_control) / len(by_control))  # fmt: skip
    assert (
        report["difference"] > 0 and report["ci_low"] <= report["difference"] <= report["ci_high"]
    )
    assert report["treatment"]["shipments_per_order"] == 1.0
    assert report["treatment"]["backorder_rate"] == 0.0

    stopped = planner.post(f"/v1/experiments/{experiment['id']}/stop",
                           json={"keep": "treatment", "reason": "cheaper for us"})  # fmt: skip
    assert stopped.status_code == 200 and stopped.json()["kept"] == treatment
    assert planner.get(f"/v1/rule-sets/{treatment}").json()["status"] == "active"
    [last] = planner.get("/v1/rule-sets/activations", params={"limit": 1}).json()
    assert last["version"] == treatment and experiment["id"] in last["reason"]
    assert submit(oms, an_order((item, 1)))["rule_set"] == treatment
    assert_problem(planner.post(f"/v1/experiments/{experiment['id']}/stop",
                                json={"keep": "control", "reason": "again"}), 409)  # fmt: skip
    assert arms == {o["id"]: oms.get(f"/v1/orders/{o['id']}").json()["rule_set"] for o in orders}
    planner.post("/v1/rule-sets/rollback", json={"reason": "leave the module as it was"})


def test_unknown_experiments_and_bad_splits_are_refused(planner: httpx.Client) -> None:
    assert_problem(planner.get("/v1/experiments/exp_0000000000000000"), 404)
    for share in (0, 1, 1.5, -0.1):
        body = {"name": "x", "treatment": "default", "share": share, "reason": "x"}
        assert_problem(planner.post("/v1/experiments", json=body), 422)
    assert_problem(planner.post("/v1/experiments", json={
        "name": "x", "treatment": "v99999", "share": 0.5, "reason": "x"}), 404)  # fmt: skip
