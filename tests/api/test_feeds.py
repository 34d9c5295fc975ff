"""Stock feeds over HTTP, against a real server: event batches, full counts (JSON and CSV),
inbound supply, and the limits on what a feed may send."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.api.conftest import a_store, an_hour_ago, sku, stock
from tests.api.served import Served

PROBLEM = "application/problem+json"


def event(item: str, kind: str, quantity: int, at: str | None = None, **extra: object) -> dict:
    return {"event_id": f"e-{uuid.uuid4().hex}", "location": "WH-1", "sku": item, "type": kind,
            "quantity": quantity, "occurred_at": at or an_hour_ago(), "source": "test", **extra}  # fmt: skip


def available(api: Served, item: str, **params: object) -> int:
    answer = api.admin().get(f"/v1/availability/{item}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["available"]


def test_each_event_gets_its_verdict_in_the_batchs_order(api: Served) -> None:
    item = sku()
    now = datetime.now(UTC)
    count = event(item, "count", 10, (now - timedelta(minutes=30)).isoformat())
    late_sale = event(item, "sale", 2, (now - timedelta(hours=2)).isoformat())  # inside the count
    sale = event(item, "sale", 3, (now - timedelta(minutes=10)).isoformat())
    bad = event(item, "sale", -4)
    shipped = event(item, "ship", 1)
    client = api.client(api.key("stock:write"))
    answer = client.post(
        "/v1/stock-events", json={"events": [count, late_sale, sale, bad, shipped]}
    )
    assert answer.status_code == 200, answer.text
    verdicts = answer.json()["verdicts"]
    assert [v["outcome"] for v in verdicts] == [
        "applied",
        "stale",
        "applied",
        "rejected",
        "rejected",
    ]
    assert [v["event_id"] for v in verdicts] == [
        e["event_id"] for e in (count, late_sale, sale, bad, shipped)
    ]
    assert "quantity" in verdicts[3]["reason"] and "engine" in verdicts[4]["reason"]
    assert answer.json()["summary"] == {"applied": 2, "stale": 1, "duplicate": 0, "rejected": 2}
    assert available(api, item) == 7


def test_an_event_sent_again_is_a_duplicate_saying_what_it_got_first_and_changes_nothing(
    api: Served,
) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5))
    sale = event(item, "sale", 1, datetime.now(UTC).isoformat())
    client = api.client(api.key("stock:write"))
    assert (
        client.post("/v1/stock-events", json={"events": [sale]}).json()["verdicts"][0]["outcome"]
        == "applied"
    )
    again = client.post("/v1/stock-events", json={"events": [sale]}).json()["verdicts"][0]
    assert (again["outcome"], again["first"]) == ("duplicate", "applied")
    assert available(api, item) == 4


def test_an_event_id_reused_with_other_content_is_rejected_with_the_reason(api: Served) -> None:
    item = sku()
    stock(api, ("WH-1", item, 5))
    sale = event(item, "sale", 1, datetime.now(UTC).isoformat())
    client = api.client(api.key("stock:write"))
    client.post("/v1/stock-events", json={"events": [sale]})
    other = client.post("/v1/stock-events", json={"events": [{**sale, "quantity": 2}]}).json()
    assert other["verdicts"][0]["outcome"] == "rejected" and other["verdicts"][0]["reason"]
    assert available(api, item) == 4


def test_a_batch_beyond_the_limit_is_refused_whole_with_413(api: Served) -> None:
    item = sku()
    events = [event(item, "adjust", 1) for _ in range(10_001)]
    answer = api.client(api.key("stock:write")).post("/v1/stock-events", json={"events": events})
    assert answer.status_code == 413 and answer.headers["content-type"] == PROBLEM
    assert "10000" in answer.json()["detail"].replace(",", "")
    assert available(api, item) == 0


def test_a_full_count_zeroes_every_sku_it_does_not_list(api: Served) -> None:
    listed, unlisted, store = sku(), sku(), a_store(api)
    stock(api, (store, listed, 4), (store, unlisted, 6))
    counted_at = datetime.now(UTC) - timedelta(minutes=5)
    count = {"id": f"rc-{uuid.uuid4().hex[:12]}", "counted_at": counted_at.isoformat(),
             "lines": [{"sku": listed, "quantity": 9}]}  # fmt: skip
    client = api.client(api.key("stock:write"))
    answer = client.post(f"/v1/locations/{store}/counts", json=count)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["listed"], body["zeroed"], body["outcomes"]["applied"]) == (1, 1, 2)
    assert available(api, listed) == 9 and available(api, unlisted) == 0
    again = client.post(f"/v1/locations/{store}/counts", json=count).json()
    assert again["outcomes"]["duplicate"] == 2  # a replay changes nothing


def test_a_count_file_in_csv_counts_the_same_as_json(api: Served) -> None:
    listed, unlisted, store = sku(), sku(), a_store(api)
    stock(api, (store, unlisted, 3))
    params = {"id": f"vf-{uuid.uuid4().hex[:12]}", "counted_at": datetime.now(UTC).isoformat()}
    body = f"sku,quantity,description\n{listed},12,a shirt\n".encode()
    client = api.client(api.key("stock:write"))
    answer = client.post(f"/v1/locations/{store}/counts.csv", params=params, content=body,
                         headers={"content-type": "text/csv"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert (answer.json()["listed"], answer.json()["zeroed"]) == (1, 1)
    assert available(api, listed) == 12 and available(api, unlisted) == 0


def test_a_count_file_with_a_bad_row_is_refused_whole_naming_the_line(api: Served) -> None:
    good, other = sku(), sku()
    params = {"id": f"vf-{uuid.uuid4().hex[:12]}", "counted_at": datetime.now(UTC).isoformat()}
    client = api.client(api.key("stock:write"))
    body = f"sku,quantity\n{good},3\n{other},lots\n".encode()
    answer = client.post("/v1/locations/ST-1/counts.csv", params=params, content=body,
                         headers={"content-type": "text/csv"})  # fmt: skip
    assert answer.status_code == 422 and "line 3" in answer.json()["detail"]
    assert available(api, good) == 0
    json_body = client.post("/v1/locations/ST-1/counts.csv", params=params, json={"sku": good})
    assert json_body.status_code == 415


def test_a_count_at_a_location_the_network_does_not_have_is_refused(api: Served) -> None:
    count = {"id": "c1", "counted_at": datetime.now(UTC).isoformat(), "lines": []}
    answer = api.client(api.key("stock:write")).post("/v1/locations/NOWHERE/counts", json=count)
    assert answer.status_code == 422 and "NOWHERE" in answer.json()["detail"]


def test_inbound_supply_gives_a_promise_dated_by_its_arrival(api: Served) -> None:
    item = sku()
    expected = datetime.now(UTC) + timedelta(days=3)
    po = {"id": f"po-{uuid.uuid4().hex[:8]}", "location": "WH-1", "sku": item, "quantity": 20,
          "expected_at": expected.isoformat(), "kind": "po"}  # fmt: skip
    client = api.client(api.key("stock:write"))
    assert client.post("/v1/inbound", json={"items": [po]}).json() == {"recorded": 1}
    promise = api.admin().get(f"/v1/availability/{item}", params={"quantity": 5}).json()["promise"]
    assert promise["met"] and promise["from_inbound"]
    assert datetime.fromisoformat(promise["at"]) >= expected
    assert client.delete(f"/v1/inbound/{po['id']}").status_code == 200
    after = api.admin().get(f"/v1/availability/{item}", params={"quantity": 5}).json()["promise"]
    assert not after["met"]


def test_inbound_at_an_unknown_location_is_refused_and_records_nothing(api: Served) -> None:
    item = sku()
    po = {"id": f"po-{uuid.uuid4().hex[:8]}", "location": "NOWHERE", "sku": item, "quantity": 2,
          "expected_at": datetime.now(UTC).isoformat()}  # fmt: skip
    answer = api.client(api.key("stock:write")).post("/v1/inbound", json={"items": [po]})
    assert answer.status_code == 422 and "NOWHERE" in answer.json()["detail"]


def test_malformed_json_is_a_400_problem(api: Served) -> None:
    answer = api.client(api.key("stock:write")).post(
        "/v1/stock-events", content=b'{"events": [', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM


def test_json_nested_too_deep_is_refused_before_it_is_read(api: Served) -> None:
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    answer = api.client(api.key("stock:write")).post("/v1/stock-events", json={"events": deep})
    assert answer.status_code == 400 and "deep" in answer.json()["detail"]


def test_a_body_over_the_size_limit_is_refused_with_413(api: Served) -> None:
    body = b'{"events": [' + b" " * (17 * 1024 * 1024) + b"]}"
    answer = api.client(api.key("stock:write")).post(
        "/v1/stock-events", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and answer.headers["content-type"] == PROBLEM


def test_a_body_of_the_wrong_media_type_is_refused_with_415(api: Served) -> None:
    answer = api.client(api.key("stock:write")).post(
        "/v1/stock-events", content=b"events", headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 415 and answer.headers["content-type"] == PROBLEM
