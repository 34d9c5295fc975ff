"""Rule sets over HTTP against a real server: a planner drafts a version, reads every problem
with its field, fixes it, activates it (orders are then routed and recorded under it), and rolls
back; an activated version is immutable, and every activation is kept with who, when and why."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import sku, stock
from tests.api.served import Served
from tests.api.test_orders import an_order, assert_problem, submit


@pytest.fixture(scope="module")
def planner(api: Served) -> httpx.Client:
    return api.client(api.key("rules:write", name="planner"))


@pytest.fixture(scope="module")
def oms(api: Served) -> httpx.Client:
    return api.client(api.key("orders:write", name="the OMS"))


def draft(planner: httpx.Client, **body: object) -> dict:
    answer = planner.post("/v1/rule-sets", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_draft_is_activated_routes_orders_under_its_version_and_is_rolled_back(
    api: Served, planner: httpx.Client, oms: httpx.Client
) -> None:
    item = sku()
    stock(api, ("ST-1", item, 5), ("WH-1", item, 5))
    before = planner.get("/v1/rule-sets").json()
    active = next(v for v in before if v["status"] == "active")["version"]
    assert submit(oms, an_order((item, 1)))["shipments"][0]["location"] == "ST-1"

    made = draft(planner, name="no Lyon store", rules={
        "exclusions": [{"location": "ST-1", "mode": "hard"}]}, note="the store is refitting")  # fmt: skip
    version = made["version"]
    assert made["status"] == "draft" and made["created_by"].startswith("planner (k_")
    assert planner.get(f"/v1/rule-sets/{version}/problems").json() == {
        "valid": True, "problems": []}  # fmt: skip
    activated = planner.post(f"/v1/rule-sets/{version}/activate", json={"reason": "refit"})
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active" and activated.json()["first_activated_at"]

    order = submit(oms, an_order((item, 1)))
    assert order["rule_set"] == version
    assert [(s["location"], s["rule_set"]) for s in order["shipments"]] == [("WH-1", version)]
    [decision] = oms.get(f"/v1/orders/{order['id']}/explain").json()
    assert decision["rule_set"] == version
    assert {"location": "ST-1", "sku": item, "reason": "excluded by the rule set"} in decision[
        "excluded"
    ]

    back = planner.post("/v1/rule-sets/rollback", json={"reason": "refit done"})
    assert back.status_code == 200 and back.json()["version"] == active
    assert planner.get(f"/v1/rule-sets/{version}").json()["status"] == "retired"
    after = submit(oms, an_order((item, 1)))
    assert after["rule_set"] == active and after["shipments"][0]["location"] == "ST-1"
    newest = planner.get("/v1/rule-sets/activations", params={"limit": 2}).json()
    assert [(a["version"], a["previous"], a["reason"]) for a in newest] == [
        (active, version, "refit done"), (version, active, "refit")]  # fmt: skip
    assert all(a["by"].startswith("planner (k_") for a in newest)


def test_every_problem_is_named_with_its_field_and_an_invalid_draft_is_not_activated(
    planner: httpx.Client,
) -> None:
    bad = {"ship_base": -1, "exclusions": [{"location": "ST-NOWHERE"}, {"type": "castle"}],
           "handling_fixed": {"store": 1.0}}  # fmt: skip
    checked = planner.post("/v1/rule-sets/check", json={"rules": bad}).json()
    fields = {p["field"] for p in checked["problems"]}
    assert checked["valid"] is False
    assert {"ship_base", "exclusions.1.type", "exclusions.0.location"} <= fields, checked
    made = draft(planner, name="typos", rules=bad)
    assert made["status"] == "draft" and made["rules"] == bad  # kept as given, to be fixed
    refused = assert_problem(
        planner.post(f"/v1/rule-sets/{made['version']}/activate", json={"reason": "try"}), 422
    )
    assert {"rules.ship_base", "rules.exclusions.0.location"} <= {
        e["field"] for e in refused["errors"]}  # fmt: skip
    assert planner.get(f"/v1/rule-sets/{made['version']}").json()["status"] == "draft"
    fixed = planner.put(f"/v1/rule-sets/{made['version']}", json={"rules": {"ship_base": 6.0}})
    assert fixed.status_code == 200 and fixed.json()["rules"] == {"ship_base": 6.0}
    assert planner.get(f"/v1/rule-sets/{made['version']}/problems").json()["valid"] is True


def test_an_activated_version_is_immutable_and_drafts_copy_any_version(
    planner: httpx.Client,
) -> None:
    made = draft(planner, name="dearer splits", rules={"handling_fixed": {
        "warehouse": 3.0, "store": 5.5, "dropship": 4.0}})  # fmt: skip
    version = made["version"]
    ok = planner.post(f"/v1/rule-sets/{version}/activate", json={"reason": "test"})
    assert ok.status_code == 200, ok.text
    again = assert_problem(
        planner.post(f"/v1/rule-sets/{version}/activate", json={"reason": "twice"}), 409
    )
    assert "active version already" in again["detail"]
    frozen = assert_problem(
        planner.put(f"/v1/rule-sets/{version}", json={"rules": {"ship_base": 1.0}}), 409
    )
    assert f"{version} is immutable" in frozen["detail"]
    copy = draft(planner, name="from it", based_on=version)
    assert copy["rules"] == made["rules"] and copy["based_on"] == version
    assert copy["version"] != version and copy["status"] == "draft"
    default = planner.get("/v1/rule-sets/default").json()
    assert default["rules"]["ship_base"] == 5.0 and default["status"] == "retired"
    assert_problem(planner.get("/v1/rule-sets/v999999"), 404)
    assert_problem(planner.post("/v1/rule-sets", json={"name": "x", "based_on": "v999999"}), 404)
    assert_problem(planner.post("/v1/rule-sets", json={"name": "nothing"}), 422)
    undone = planner.post("/v1/rule-sets/rollback", json={"reason": "undo"})
    assert undone.status_code == 200 and undone.json()["version"] != version


def test_a_reader_of_rules_may_not_change_them(api: Served) -> None:
    reader = api.client(api.key("rules:read", name="analyst"))
    assert reader.get("/v1/rule-sets").status_code == 200
    assert_problem(reader.post("/v1/rule-sets", json={"name": "x", "rules": {}}), 403)
    assert_problem(reader.post("/v1/rule-sets/rollback", json={"reason": "no"}), 403)
