"""A rebuild is written beside the live projection and switched in at once: a reader busy during
it sees the old answer or the new, never an error or a half-loaded zero, and a write committed
while it runs is in the projection after the switch."""

from __future__ import annotations

import threading
import time
from collections import Counter

from inventory.availability.reader import AvailabilityReader
from inventory.ledger import Ledger
from inventory.projection.rebuild import rebuild
from inventory.projection.store import Projection
from tests.inventory.helpers import STORE, WAREHOUSE, ev, sku

REBUILT_POSITIONS = 30_000  # enough that the load takes a good part of a second
BATCH_EVENTS = 10_000


def _another_process_on(ledger: Ledger) -> Ledger:
    """A ledger as another process has it: its own projection adapter, pointers and caches."""
    projection = ledger.projection
    twin = Ledger(ledger.engine, Projection(projection.redis, projection.prefix))
    twin.clock = ledger.clock
    return twin


def test_a_reader_during_a_rebuild_sees_no_error_and_no_wrong_value_and_no_write_is_lost(
    ledger, backend
):
    watched, moving = sku(), sku()
    filler = [sku() for _ in range(REBUILT_POSITIONS // 2)]
    events = [ev(loc.id, s, "count", 3) for s in filler for loc in (WAREHOUSE, STORE)]
    for at in range(0, len(events), BATCH_EVENTS):
        ledger.ingest(events[at : at + BATCH_EVENTS])
    ledger.ingest([ev(WAREHOUSE.id, watched, "count", 10), ev(STORE.id, moving, "count", 1)])
    other = _another_process_on(ledger)
    reader = AvailabilityReader(other.projection, clock=backend.reader.clock)
    rebuilding, stop = threading.Event(), threading.Event()
    seen: Counter[int] = Counter()
    errors: list[str] = []
    written_during: list[int] = []

    def read() -> None:
        while not stop.is_set():
            try:
                seen[reader.check([watched])[0].available] += 1
            except Exception as error:  # any failure is what this test is about
                errors.append(repr(error))

    def write() -> None:
        minute = 1
        while not stop.is_set():
            other.ingest([ev(STORE.id, moving, "receive", 1, minutes=minute)])
            if rebuilding.is_set():
                written_during.append(minute)
            minute += 1

    threads = [threading.Thread(target=read), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.1)
        rebuilding.set()
        report = rebuild(ledger)
        rebuilding.clear()
        time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        other.projection.close()

    assert report.positions >= REBUILT_POSITIONS
    assert errors == []
    assert set(seen) == {10}, seen
    assert written_during, "no write was committed while the rebuild ran"
    in_sql = ledger.position(STORE.id, moving)
    assert in_sql is not None
    assert other.projection.read([moving])[moving][STORE.id].on_hand == in_sql.on_hand
    assert ledger.projection.read([moving])[moving][STORE.id].on_hand == in_sql.on_hand
