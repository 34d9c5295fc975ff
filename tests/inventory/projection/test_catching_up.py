"""The projection catches up with SQL by itself: a failed write is retried, a replay re-projects."""

from __future__ import annotations

import pytest
import redis

from inventory import HoldStatus
from inventory.holds.service import Reservations
from tests.inventory.helpers import WAREHOUSE, ev, sku
from tests.inventory.holding import available, hold


@pytest.fixture
def failing_once(backend, monkeypatch):
    """Set to [1], the next projection write fails as if Redis had dropped the connection."""
    projection = backend.ledger.projection
    real = projection.put
    left = [0]

    def put(changed):
        if left[0]:
            left[0] -= 1
            raise redis.ConnectionError("connection reset by peer")
        return real(changed)

    monkeypatch.setattr(projection, "put", put)
    return left


def _stale(backend, s: str, value) -> None:
    """The projection keeps an older version, as after a write that never reached it."""
    backend.ledger.projection.overwrite({(WAREHOUSE.id, s): value})


def test_an_ingest_whose_projection_write_fails_is_answered_and_shows_soon_after(
    backend, failing_once
):
    backend.ledger.upsert_locations([WAREHOUSE])
    s = sku()
    failing_once[0] = 1
    result = backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    assert result.verdicts[0][1].outcome.value == "applied" and failing_once == [0]
    assert backend.ledger.projector().flush(10)
    assert available(backend, s) == 10


def test_a_replayed_ingest_projects_its_positions_again(backend):
    backend.ledger.upsert_locations([WAREHOUSE])
    s = sku()
    sale = ev(WAREHOUSE.id, s, "sale", 9, minutes=1)
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10, minutes=0), sale])
    before = backend.ledger.projection.read([s])[s][WAREHOUSE.id]
    _stale(backend, s, type(before)(before.version - 1, 10, 0, 0, before.reported_s))
    assert available(backend, s) == 10

    replay = backend.ledger.ingest([sale])

    assert replay.verdicts[0][1].outcome.value == "duplicate"
    assert available(backend, s) == 1


@pytest.mark.parametrize("close", ["release", "consume"])
def test_a_replayed_close_projects_the_holds_positions_again(backend, close):
    backend.ledger.upsert_locations([WAREHOUSE])
    desk = Reservations(backend.ledger, backend.reader, group_commit=False)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    held = desk.hold(hold((s, 4), location=WAREHOUSE.id))
    ending = desk.release(held.id) if close == "release" else desk.consume(held.id, "O1")
    now = backend.ledger.projection.read([s])[s][WAREHOUSE.id]
    _stale(backend, s, type(now)(now.version - 1, now.on_hand, 9, now.safety, now.reported_s))
    assert available(backend, s) == 1

    again = desk.release(held.id) if close == "release" else desk.consume(held.id, "O1")

    assert again is ending
    assert available(backend, s) == (10 if close == "release" else 6)
    desk.close()


def test_an_expiry_whose_projection_write_fails_frees_the_stock_soon_after(backend, failing_once):
    backend.ledger.upsert_locations([WAREHOUSE])
    desk = Reservations(backend.ledger, backend.reader, group_commit=False)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    desk.hold(hold((s, 4), location=WAREHOUSE.id, ttl_s=1))
    clock = backend.ledger.clock
    backend.ledger.clock = lambda: clock().replace(year=clock().year + 1)
    failing_once[0] = 1

    assert desk.expire_due() == 1

    assert backend.ledger.projector().flush(10)
    assert available(backend, s) == 10
    assert desk.expire_due() == 0  # the hold is gone for good: a second sweep finds nothing
    desk.close()


def test_a_hold_whose_projection_write_fails_is_still_answered_held(backend, failing_once):
    backend.ledger.upsert_locations([WAREHOUSE])
    desk = Reservations(backend.ledger, backend.reader, group_commit=False)
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10)])
    failing_once[0] = 1

    outcome = desk.hold(hold((s, 4), location=WAREHOUSE.id))

    assert outcome.status is HoldStatus.held
    assert backend.ledger.projector().flush(10)
    assert available(backend, s) == 6
    desk.close()
