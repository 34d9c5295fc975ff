"""The events feed over HTTP, against a real server: a cursor pages through the outbox in order,
filters by type and subject, and bad input is a 422 problem that reads nothing.

The events are written as the engine writes them, by `outbox.record` in a transaction on the
server's own database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine

from dom.events import outbox
from dom.events.subscriptions import now_us
from tests.api.served import Served

PROBLEM = "application/problem+json"


@contextmanager
def database_of(api: Served) -> Iterator[Engine]:
    """The served engine's SQL database, opened by this process as another writer."""
    url = api.env.get("DOM_DATABASE_URL") or f"sqlite:///{api.data_dir / 'dom.sqlite'}"
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    try:
        yield engine
    finally:
        engine.dispose()


def record(api: Served, *events: tuple[str, str, dict]) -> list[int]:
    """Commit events in the server's outbox, in one transaction; their seqs."""
    with database_of(api) as sql, sql.begin() as conn:
        before = outbox.last_seq(conn)
        outbox.record_many(conn, list(events), now_us())
        return [event.seq for event in outbox.read_after(conn, before)]


def newest(api: Served) -> int:
    with database_of(api) as sql, sql.connect() as conn:
        return outbox.last_seq(conn)


def subject() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


def test_a_client_pages_through_new_events_in_order_by_passing_next(api: Served) -> None:
    start, order = newest(api), subject()
    seqs = record(api, *[("order.routed", order, {"n": n}) for n in range(7)])
    client = api.client(api.key("orders:read"))
    pages, cursor = [], start
    while True:
        answer = client.get("/v1/events", params={"after": cursor, "limit": 3})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        if not page["events"]:
            assert page["next"] == cursor  # nothing new: the same cursor again
            break
        assert page["next"] == page["events"][-1]["seq"]
        pages.append(page["events"])
        cursor = page["next"]
    assert [len(p) for p in pages] == [3, 3, 1]
    events = [e for p in pages for e in p]
    assert [e["seq"] for e in events] == seqs
    assert [e["payload"] for e in events] == [{"n": n} for n in range(7)]
    assert {(e["type"], e["subject"]) for e in events} == {("order.routed", order)}
    assert all(e["created_at"].endswith("Z") for e in events)


def test_events_are_filtered_by_type_and_by_subject(api: Served) -> None:
    start, mine, other = newest(api), subject(), subject()
    record(api, ("order.routed", mine, {"n": 1}), ("order.parked", mine, {"n": 2}),
           ("order.cancelled", other, {"n": 3}), ("order.parked", other, {"n": 4}))  # fmt: skip
    client = api.client(api.key("orders:write"))  # a writer of orders reads them too

    def payloads(**params: object) -> list[int]:
        answer = client.get("/v1/events", params={"after": start, **params})
        assert answer.status_code == 200, answer.text
        return [e["payload"]["n"] for e in answer.json()["events"]]

    assert payloads() == [1, 2, 3, 4]
    assert payloads(type="order.parked") == [2, 4]
    assert payloads(type=["order.routed", "order.cancelled"]) == [1, 3]
    assert payloads(subject=mine) == [1, 2]
    assert payloads(subject=other, type="order.parked") == [4]
    assert payloads(subject=subject()) == []


def test_a_cursor_past_the_newest_event_reads_nothing_and_keeps_its_place(api: Served) -> None:
    beyond = newest(api) + 1_000
    answer = api.client(api.key("orders:read")).get("/v1/events", params={"after": beyond})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"events": [], "next": beyond}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": -1}, "query.after"),
        ({"after": "seven"}, "query.after"),
        ({"after": 2**63}, "query.after"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 1001}, "query.limit"),
        ({"limit": 2.5}, "query.limit"),
        ({"type": "order.lost"}, "query.type.0"),
        ({"subject": ""}, "query.subject"),
        ({"subject": "o\x00"}, "query.subject"),
    ],
    ids=str,
)
def test_a_bad_cursor_page_size_or_filter_is_invalid_input(
    api: Served, params: dict, field: str
) -> None:
    answer = api.client(api.key("orders:read")).get("/v1/events", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"] == "urn:dom:problem:invalid-input" and problem["status"] == 422
    assert field in {error["field"] for error in problem["errors"]}, problem


def test_the_page_limit_names_its_unit_in_the_published_document(api: Served) -> None:
    document = api.client().get("/openapi.json").json()
    limit = next(
        p for p in document["paths"]["/v1/events"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)
    assert "events" in limit["description"]
