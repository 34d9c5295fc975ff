"""The outbox: an event is written with its change or not at all, and read back in order."""

from __future__ import annotations

import pytest

from dom.events import outbox
from tests.conftest import Backend


def test_events_commit_and_roll_back_with_their_transaction(backend: Backend) -> None:
    engine = backend.ledger.engine
    outbox.create_tables(engine)
    with engine.begin() as conn:
        outbox.record(conn, "order.routed", "o-1", {"n": 1}, 10)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        outbox.record(conn, "order.parked", "o-2", {"n": 2}, 11)
        raise RuntimeError("the change failed")
    with engine.begin() as conn:
        outbox.record_many(conn, [("order.cancelled", "o-1", {"n": 3}),
                                  ("order.routed", "o-3", {"n": 4})], 12)  # fmt: skip
    with engine.connect() as conn:
        events = outbox.read_after(conn, 0)
        assert [(e.type, e.subject, e.payload) for e in events] == [
            ("order.routed", "o-1", {"n": 1}),
            ("order.cancelled", "o-1", {"n": 3}),
            ("order.routed", "o-3", {"n": 4}),
        ]
        assert [e.seq for e in events] == sorted(e.seq for e in events)
        assert outbox.last_seq(conn) == events[-1].seq
        after_first = outbox.read_after(conn, events[0].seq, limit=1)
        assert [e.payload for e in after_first] == [{"n": 3}]
        assert [e.payload for e in outbox.read_after(conn, 0, subject="o-3")] == [{"n": 4}]
        only = outbox.read_after(conn, 0, types=frozenset({"order.cancelled"}))
        assert [e.subject for e in only] == ["o-1"]


def test_an_unknown_event_type_writes_nothing(backend: Backend) -> None:
    engine = backend.ledger.engine
    outbox.create_tables(engine)
    with pytest.raises(outbox.UnknownEventType), engine.begin() as conn:
        outbox.record_many(conn, [("order.routed", "o", {}), ("order.lost", "o", {})], 1)
    with engine.connect() as conn:
        assert outbox.read_after(conn, 0) == []
