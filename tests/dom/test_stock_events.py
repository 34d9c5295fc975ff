"""Stock events: written in the ingest transaction, so a batch's events are there exactly when
its change is; out of stock and back in stock where a position's availability crosses zero."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from dom.events import outbox
from dom.events import stock as stock_events
from dom.events.outbox import Event
from inventory import Ledger
from tests.conftest import Backend
from tests.inventory.helpers import NETWORK, STORE, WAREHOUSE, ev, sku


@pytest.fixture
def ledger(backend: Backend) -> Iterator[Ledger]:
    outbox.create_tables(backend.ledger.engine)
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.with_each_batch(stock_events.record)
    yield backend.ledger


def events_after(engine: Engine, after: int) -> list[Event]:
    with engine.connect() as conn:
        return outbox.read_after(conn, after)


def newest(engine: Engine) -> int:
    with engine.connect() as conn:
        return outbox.last_seq(conn)


def test_a_batch_writes_the_positions_it_changed_and_a_first_stock_is_not_back(
    ledger: Ledger,
) -> None:
    item, start = sku(), newest(ledger.engine)
    ledger.ingest([ev(WAREHOUSE.id, item, "count", 5), ev(STORE.id, item, "count", 0)])
    events = events_after(ledger.engine, start)
    assert [(e.type, e.subject) for e in events] == [("stock.changed", "stock")]
    assert events[0].payload == {"positions": [  # in key order; the store's first count is 0
        {"location": WAREHOUSE.id, "sku": item, "on_hand": 5, "reserved": 0, "safety": 0,
         "available": 5},
        {"location": STORE.id, "sku": item, "on_hand": 0, "reserved": 0, "safety": 0,
         "available": 0},
    ]}  # fmt: skip
    assert WAREHOUSE.id < STORE.id


def test_a_position_sold_out_is_out_of_stock_and_one_received_again_is_back(
    ledger: Ledger,
) -> None:
    item = sku()
    ledger.ingest([ev(WAREHOUSE.id, item, "count", 2)])
    start = newest(ledger.engine)
    ledger.ingest([ev(WAREHOUSE.id, item, "sale", 2, minutes=1)])
    ledger.ingest([ev(WAREHOUSE.id, item, "sale", 1, minutes=2)])  # still none: not out again
    ledger.ingest([ev(WAREHOUSE.id, item, "receive", 4, minutes=3)])
    ledger.ingest([ev(WAREHOUSE.id, item, "sale", 1, minutes=4)])  # still some: not back again
    crossings = [(e.type, e.subject, e.payload["available"])
                 for e in events_after(ledger.engine, start) if e.type != "stock.changed"]  # fmt: skip
    assert crossings == [("stock.out", item, 0), ("stock.back", item, 3)]


def test_a_batch_that_changes_nothing_writes_no_event(ledger: Ledger) -> None:
    item = sku()
    first = ev(WAREHOUSE.id, item, "count", 3)
    ledger.ingest([first])
    start = newest(ledger.engine)
    result = ledger.ingest([first, ev("NOWHERE", item, "count", 1)])  # a replay, a refusal
    assert result.summary()["duplicate"] == 1 and result.summary()["rejected"] == 1
    assert events_after(ledger.engine, start) == []


def test_a_large_batch_is_reported_in_bounded_events_in_key_order(ledger: Ledger) -> None:
    items = sorted(sku() for _ in range(stock_events.MAX_POSITIONS_PER_EVENT + 50))
    start = newest(ledger.engine)
    ledger.ingest([ev(WAREHOUSE.id, item, "count", 1) for item in items])
    changed = events_after(ledger.engine, start)
    assert [len(e.payload["positions"]) for e in changed] == [
        stock_events.MAX_POSITIONS_PER_EVENT,
        50,
    ]
    assert [p["sku"] for e in changed for p in e.payload["positions"]] == items


def test_a_batch_whose_event_cannot_be_written_commits_nothing(ledger: Ledger) -> None:
    item, start = sku(), newest(ledger.engine)

    def failing(conn, result, now_us):  # type: ignore[no-untyped-def]
        stock_events.record(conn, result, now_us)
        raise RuntimeError("the outbox refused")

    ledger.with_each_batch(failing)
    with pytest.raises(RuntimeError):
        ledger.ingest([ev(WAREHOUSE.id, item, "count", 4)])
    assert ledger.position(WAREHOUSE.id, item) is None
    assert events_after(ledger.engine, start) == []
