"""Webhooks over HTTP, against a real server and a real receiver: each delivery signed with the
subscription's secret, every event at least once and in order, through a receiver that fails or
is down for a while; DELETE stops them; the subscription's GET shows how delivery stands."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dom.events.signing import TOLERANCE_S
from tests.api.served import Served, free_port, serve
from tests.api.test_events import record
from tests.dom.webhook_receiver import Receiver, receiving, wait_for

# The served engine looks for deliveries often, and waits little for a receiver.
SERVER_ENV = {"DOM_WEBHOOK_POLL_INTERVAL_S": "0.05", "DOM_WEBHOOK_TIMEOUT_S": "2"}
PROBLEM = "application/problem+json"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as listening:
        yield listening


@pytest.fixture
def writer(api: Served) -> Iterator[httpx.Client]:
    """An `orders:write` client; the subscriptions it made are deleted after the test."""
    client = api.client(api.key("orders:write"))
    yield client
    for made in client.get("/v1/webhooks").json():
        client.delete(f"/v1/webhooks/{made['id']}")


def subscribe(client: httpx.Client, receiver: Receiver, **body: object) -> dict:
    answer = client.post("/v1/webhooks", json={"url": receiver.url, **body})
    assert answer.status_code == 201, answer.text
    receiver.secret = answer.json()["secret"]
    return answer.json()


def subject() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def test_every_event_arrives_once_in_order_signed_with_the_subscriptions_secret(
    api: Served, writer: httpx.Client, receiver: Receiver
) -> None:
    made = subscribe(writer, receiver)
    assert made["secret"].startswith("whsec_") and made["cursor"] >= 0
    orders = [subject() for _ in range(4)]
    seqs = record(api, *[("order.routed", orders[n % 4], {"n": n}) for n in range(12)])
    seqs += record(api, ("order.parked", orders[0], {"n": 12}))
    wait_for(lambda: len(receiver.taken()) >= 13)
    time.sleep(0.3)  # a duplicate would have come by now
    taken = receiver.taken()
    assert [e["seq"] for e in taken] == seqs
    assert [e["payload"]["n"] for e in taken] == list(range(13))
    assert set(taken[0]) == {"seq", "type", "subject", "payload", "created_at"}
    assert not receiver.refused(401), "every delivery carried a good, fresh signature"
    first = receiver.received[0]
    assert first.headers["webhook-id"] == str(seqs[0])
    assert abs(int(first.headers["webhook-timestamp"]) - time.time()) < 60
    assert first.headers["content-type"] == "application/json"


def test_a_receiver_refuses_a_delivery_replayed_late_or_with_its_timestamp_changed(
    api: Served, writer: httpx.Client, receiver: Receiver
) -> None:
    subscribe(writer, receiver)
    record(api, ("order.routed", subject(), {}))
    wait_for(receiver.taken)
    captured = receiver.received[0]

    def replay(headers: dict[str, str]) -> int:
        return httpx.post(receiver.url, content=captured.body, headers=headers).status_code

    receiver.tolerance_s = 1  # the standard's five minutes, shortened for the test
    time.sleep(1.5)
    assert replay(captured.headers) == 401, "stale: a replay"
    assert replay({**captured.headers, "webhook-timestamp": str(int(time.time()))}) == 401
    receiver.tolerance_s = TOLERANCE_S
    assert replay(captured.headers) == 204, "the capture itself was genuine"


def test_a_receiver_that_fails_for_a_while_gets_every_event_in_order_after_retries(
    api: Served, writer: httpx.Client, receiver: Receiver
) -> None:
    receiver.failing = 2
    made = subscribe(writer, receiver)
    order = subject()
    seqs = record(api, *[("order.routed", order, {"n": n}) for n in range(3)])

    wait_for(lambda: writer.get(f"/v1/webhooks/{made['id']}").json()["failures"] >= 1)
    state = writer.get(f"/v1/webhooks/{made['id']}").json()
    assert "500" in state["last_error"] and state["last_attempt_at"]
    assert state["next_attempt_at"] and state["cursor"] == made["cursor"]
    wait_for(lambda: len(receiver.taken()) >= 3)
    assert [e["seq"] for e in receiver.taken()] == seqs
    assert [d.event["seq"] for d in receiver.refused(500)] == [seqs[0], seqs[0]]
    wait_for(lambda: writer.get(f"/v1/webhooks/{made['id']}").json()["cursor"] == seqs[-1])
    state = writer.get(f"/v1/webhooks/{made['id']}").json()
    assert (state["failures"], state["last_error"], state["next_attempt_at"]) == (0, None, None)
    assert state["delivered_at"]


def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back(
    api: Served, writer: httpx.Client
) -> None:
    down = Receiver(port=free_port())
    made = subscribe(writer, down)
    seqs = record(api, *[("order.parked", subject(), {"n": n}) for n in range(3)])
    wait_for(lambda: writer.get(f"/v1/webhooks/{made['id']}").json()["failures"] >= 1)
    state = writer.get(f"/v1/webhooks/{made['id']}").json()
    assert state["last_error"].startswith("ConnectError")  # no answer at all
    with receiving(down) as back:
        wait_for(lambda: len(back.taken()) >= 3, timeout_s=20)
    assert [e["seq"] for e in back.taken()] == seqs


def test_a_deleted_subscription_is_delivered_nothing_more(
    api: Served, writer: httpx.Client, receiver: Receiver
) -> None:
    made = subscribe(writer, receiver)
    record(api, ("order.routed", subject(), {"n": 1}))
    wait_for(receiver.taken)
    deleted = writer.delete(f"/v1/webhooks/{made['id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == made["id"], deleted.text
    record(api, ("order.routed", subject(), {"n": 2}))
    time.sleep(0.5)
    assert [e["payload"] for e in receiver.taken()] == [{"n": 1}]
    for gone in (writer.get(f"/v1/webhooks/{made['id']}"), writer.delete(f"/v1/webhooks/{made['id']}")):  # fmt: skip
        assert gone.status_code == 404 and gone.json()["type"].endswith("unknown-webhook")


def test_a_subscription_starts_at_the_end_unless_it_names_a_cursor_and_keeps_to_its_filters(
    api: Served, writer: httpx.Client, receiver: Receiver
) -> None:
    order = subject()
    earlier = record(api, ("order.routed", order, {"n": 0}), ("order.parked", order, {"n": 1}))
    subscribe(writer, receiver, after=earlier[0] - 1, types=["order.parked"], subject=order)
    with receiving() as fresh:
        subscribe(writer, fresh, subject=order)
        record(api, ("order.routed", order, {"n": 2}), ("order.parked", subject(), {"n": 3}),
               ("order.parked", order, {"n": 4}))  # fmt: skip
        wait_for(lambda: len(fresh.taken()) >= 2 and len(receiver.taken()) >= 2)
        time.sleep(0.2)
        assert [e["payload"]["n"] for e in fresh.taken()] == [2, 4]
    assert [e["payload"]["n"] for e in receiver.taken()] == [1, 4]


def test_the_secret_is_shown_once_and_never_listed(
    writer: httpx.Client, receiver: Receiver
) -> None:
    made = subscribe(writer, receiver, types=["order.routed", "order.routed", "stock.out"])
    assert made["types"] == ["order.routed", "stock.out"] and made["subject"] is None
    listed = writer.get("/v1/webhooks").json()
    assert made["id"] in {item["id"] for item in listed}
    read = writer.get(f"/v1/webhooks/{made['id']}").json()
    assert "secret" not in read and all("secret" not in item for item in listed)
    assert read == {key: value for key, value in made.items() if key != "secret"}


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/hooks"},
        {"url": "example.com/hooks"},
        {"url": "http://"},
        {"url": "https://example.com:99999/"},
        {"url": "mailto:ops@example.com"},
        {"url": "http://example.com/" + "a" * 2100},
        {"url": 42},
        {},
        {"url": "http://example.com/", "types": []},
        {"url": "http://example.com/", "types": ["order.lost"]},
        {"url": "http://example.com/", "subject": ""},
        {"url": "http://example.com/", "after": -1},
        {"url": "http://example.com/", "secret": "whsec_mine"},
    ],
    ids=str,
)
def test_a_subscription_that_cannot_be_delivered_as_asked_is_invalid_and_not_made(
    writer: httpx.Client, body: dict
) -> None:
    before = writer.get("/v1/webhooks").json()
    answer = writer.post("/v1/webhooks", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM and answer.json()["detail"]
    assert writer.get("/v1/webhooks").json() == before


def test_a_cursor_past_the_newest_event_is_refused(api: Served, writer: httpx.Client) -> None:
    newest = record(api, ("order.routed", subject(), {}))[-1]
    answer = writer.post("/v1/webhooks", json={"url": "http://example.com/", "after": newest + 1})
    assert answer.status_code == 422 and answer.json()["type"].endswith("invalid-webhook")


def test_two_api_processes_deliver_each_event_once_in_order(tmp_path: Path) -> None:
    with serve(tmp_path / "var", SERVER_ENV, workers=2) as two, receiving() as receiver:
        receiver.answer_after_s = 0.002  # time for the other process to try to cut in
        subscribe(two.client(two.key("orders:write")), receiver)
        seqs = []
        for batch in range(6):
            seqs += record(two, *[("order.routed", subject(), {"n": batch}) for _ in range(5)])
        wait_for(lambda: len(receiver.taken()) >= 30)
        time.sleep(0.3)
        assert [e["seq"] for e in receiver.taken()] == seqs
