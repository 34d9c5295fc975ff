"""Availability reads are answered from the projection alone: no statement reaches SQL and no
connection is checked out, on the quick path, the explained one and the fenced one."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from inventory.availability.policy import AvailabilityPolicy, ChannelFence
from inventory.availability.reader import AvailabilityReader
from inventory.availability.sources import InvalidQuery, Query
from inventory.stock.safety import SafetyRule
from tests.inventory.helpers import NETWORK, STORE, STORE_NO_SHIP, T0, ev, sku


@dataclasses.dataclass
class SqlActivity:
    statements: list[str] = dataclasses.field(default_factory=list)
    checkouts: int = 0


@contextmanager
def sql_activity(engine) -> Iterator[SqlActivity]:
    """Statements run and pool connections checked out by this thread while inside (the
    SQLite checkpointer's own thread is left out). Raw driver cursors show as checkouts."""
    seen, me = SqlActivity(), threading.get_ident()

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == me:
            seen.statements.append(statement)

    def on_checkout(dbapi_connection, record, proxy):
        if threading.get_ident() == me:
            seen.checkouts += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "checkout", on_checkout)


def test_availability_reads_touch_the_projection_only_never_sql(ledger, backend):
    s, t, never = sku(), sku(), sku()
    ledger.ingest(
        [ev(loc.id, s, "count", 5) for loc in NETWORK] + [ev(STORE_NO_SHIP.id, t, "count", 2)]
    )
    ledger.set_safety_rules([SafetyRule(1, location_type="store")])
    queries = [
        Query(),
        Query(method="pickup", store=STORE.id, quantity=3),
        Query(on_date=T0 + timedelta(days=2)),
    ]

    with sql_activity(ledger.engine) as seen:
        cold = AvailabilityReader(backend.projection, clock=backend.reader.clock)
        plain = [cold.check([s, t, never], q) for q in queries]
        detailed = [backend.reader.explain(s, q) for q in queries]
        with pytest.raises(InvalidQuery, match="unknown pickup store"):
            cold.check([s], Query(method="pickup", store="NOWHERE"))
    assert (seen.statements, seen.checkouts) == ([], 0)
    assert plain[0][0].available == 5 + 4 + int(5 * 0.8)  # the reads did read stock
    assert detailed[0].available == plain[0][0].available

    ledger.set_policy(  # a fence sends reads down the one-by-one path, and a new network version
        AvailabilityPolicy(fences=[ChannelFence(channel="b2b", location_type="store", share=0.5)])
    )
    with sql_activity(ledger.engine) as seen:
        fenced = backend.reader.check([s, t], queries[0])
        backend.reader.explain(t, queries[1])
    assert (seen.statements, seen.checkouts) == ([], 0)
    assert fenced[0].available == 5 + 2 + 4

    with sql_activity(ledger.engine) as seen:  # the probe does see a read of the ledger
        assert ledger.position(STORE.id, s).on_hand == 5
    assert seen.checkouts >= 1
    assert any("position" in statement for statement in seen.statements)
