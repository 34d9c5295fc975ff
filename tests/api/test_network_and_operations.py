"""The network and operations over HTTP, against a real server: locations, safety stock, the
availability policy, keys, reconcile and rebuild; and `dom keys` on the same data."""

from __future__ import annotations

import uuid

from tests.api.conftest import a_store, sku, stock
from tests.api.served import Served

PROBLEM = "application/problem+json"


def available(api: Served, item: str, **params: object) -> int:
    return api.admin().get(f"/v1/availability/{item}", params=params).json()["available"]


def test_locations_are_listed_and_read_back_as_they_were_put(api: Served) -> None:
    store = a_store(api)
    client = api.client(api.key("availability:read"))
    listed = {location["id"]: location for location in client.get("/v1/locations").json()}
    assert {"WH-1", "ST-1", store} <= listed.keys()
    one = client.get(f"/v1/locations/{store}").json()
    assert one == listed[store]
    assert (one["type"], one["capabilities"], one["active"]) == ("store", ["pickup", "ship"], True)
    assert client.get("/v1/locations/NOWHERE").status_code == 404


def test_a_deactivated_location_gives_no_more_stock_until_put_back(api: Served) -> None:
    store, item = a_store(api), sku()
    stock(api, (store, item, 5))
    writer = api.client(api.key("network:write"))
    gone = writer.delete(f"/v1/locations/{store}")
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert available(api, item) == 0
    back = {**gone.json(), "active": True}
    assert writer.put("/v1/locations", json={"locations": [back]}).json()["written"] == 1
    assert available(api, item) == 5


def test_a_location_that_breaks_the_rules_is_refused_naming_its_field(api: Served) -> None:
    writer = api.client(api.key("network:write"))
    bad = {"id": "ST-BAD", "type": "store", "lat": 123.0, "lon": 2.0}
    answer = writer.put("/v1/locations", json={"locations": [bad]})
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    assert any(error["field"].endswith("lat") for error in answer.json()["errors"])
    assert api.admin().get("/v1/locations/ST-BAD").status_code == 404


def test_safety_rules_replace_the_old_ones_and_every_buffer_follows(api: Served) -> None:
    store, item = a_store(api), sku()
    stock(api, (store, item, 10))
    writer = api.client(api.key("network:write"))
    before = api.admin().get("/v1/safety-rules").json()["rules"]
    rules = [*before, {"units": 4, "location": store, "sku": item}]
    answer = writer.put("/v1/safety-rules", json={"rules": rules})
    assert answer.status_code == 200 and answer.json()["written"] >= 1
    assert available(api, item) == 6
    assert {"units": 4, "location_type": None, "location": store, "sku": item} in (
        api.admin().get("/v1/safety-rules").json()["rules"]
    )
    writer.put("/v1/safety-rules", json={"rules": before})
    assert available(api, item) == 10


def test_each_policy_change_is_a_new_version_and_takes_effect_at_once(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5), ("ST-1", item, 5))
    writer = api.client(api.key("network:write"))
    current = api.admin().get("/v1/policy").json()
    changed = {**current["policy"], "ship_from_store": False}
    answer = writer.put("/v1/policy", json=changed)
    assert answer.status_code == 200
    version = answer.json()["version"]
    assert version > (current["version"] or 0)
    assert available(api, item) == 5
    restored = writer.put("/v1/policy", json=current["policy"]).json()["version"]
    assert restored == version + 1 and available(api, item) == 10


def test_a_policy_with_a_fence_of_neither_units_nor_share_is_refused(api: Served) -> None:
    writer = api.client(api.key("network:write"))
    answer = writer.put("/v1/policy", json={"fences": [{"channel": "store"}]})
    assert answer.status_code == 422 and "units or share" in answer.json()["detail"]


def test_a_new_key_is_shown_once_listed_without_its_secret_and_revoked_for_good(
    api: Served,
) -> None:
    admin = api.admin()
    made = admin.post("/v1/admin/keys", json={"name": "checkout", "scopes": ["availability:read"]})
    assert made.status_code == 201
    key = made.json()
    assert key["key"].startswith("dom_") and key["scopes"] == ["availability:read"]
    listed = {k["id"]: k for k in admin.get("/v1/admin/keys").json()}
    assert "key" not in listed[key["id"]] and listed[key["id"]]["revoked_at"] is None
    reader = api.client(key["key"])
    assert reader.get(f"/v1/availability/{sku()}").status_code == 200
    assert admin.delete(f"/v1/admin/keys/{key['id']}").json()["revoked_at"] is not None
    assert reader.get(f"/v1/availability/{sku()}").status_code == 401


def test_a_key_with_a_scope_that_does_not_exist_is_refused(api: Served) -> None:
    answer = api.admin().post("/v1/admin/keys", json={"name": "x", "scopes": ["everything"]})
    assert answer.status_code == 422


def test_keys_made_on_the_command_line_reach_the_routes_their_scopes_allow(api: Served) -> None:
    made = api.dom("keys", "create", "--name", "feed", "--scopes", "stock:write")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    feed = api.client(secret)
    assert feed.post("/v1/stock-events", json={"events": []}).status_code == 422  # allowed, empty
    assert feed.get(f"/v1/availability/{sku()}").status_code == 403
    key_id = next(k["id"] for k in api.admin().get("/v1/admin/keys").json() if k["name"] == "feed")
    assert api.dom("keys", "revoke", key_id).returncode == 0
    assert feed.post("/v1/stock-events", json={"events": []}).status_code == 401


def test_reconcile_reports_what_it_checked_and_a_rebuild_serves_the_same_answers(
    api: Served,
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 8))
    hold = {"id": f"cart-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 3}]}
    admin = api.admin()
    assert admin.post("/v1/reservations", json=hold).status_code == 201
    report = admin.post("/v1/admin/reconcile", json={}).json()
    assert report["checked"] >= 1 and report["drifts"] == [] and report["repaired"] == 0
    before = admin.get(f"/v1/availability/{item}/explain").json()
    rebuilt = admin.post("/v1/admin/rebuild")
    assert rebuilt.status_code == 200 and rebuilt.json()["positions"] >= 1
    after = admin.get(f"/v1/availability/{item}/explain").json()
    assert after["available"] == before["available"] == 5
    assert after["contributions"] == before["contributions"]


def test_metrics_count_requests_by_route_events_by_verdict_and_holds_by_outcome(
    api: Served,
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 1))
    admin = api.admin()
    admin.get(f"/v1/availability/{item}")
    admin.post(
        "/v1/reservations",
        json={"id": f"c-{uuid.uuid4().hex}", "lines": [{"sku": item, "quantity": 1}]},
    )
    scraper = api.client(api.key("metrics"))
    answer = scraper.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert (
        'dom_http_request_duration_seconds_count{method="GET",route="/v1/availability/{sku}",status="200"}'
        in text
    )
    assert 'dom_stock_events_total{verdict="applied"}' in text
    assert 'dom_holds_total{outcome="held"}' in text
    assert "dom_hold_group_size_count" in text and "dom_projection_lag_seconds_count" in text
    assert api.client(api.key("availability:read")).get("/metrics").status_code == 403


def test_the_docs_are_served_with_their_own_assets_and_list_every_route(api: Served) -> None:
    client = api.client()
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    script = page.text.split('<script src="', 1)[1].split('"', 1)[0]
    assert client.get(script).status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/availability/{sku}",
        "/v1/reservations",
        "/v1/stock-events",
        "/v1/policy",
    } <= paths.keys()
