"""A hold takes every line or none, split across locations when no single one has enough, and
holds sent at once never oversell."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from inventory import HoldLine, HoldRequest
from tests.inventory.helpers import STORE, WAREHOUSE, ev, sku
from tests.inventory.holding import assert_never_oversold, available, hold


def test_a_hold_takes_every_line_or_none(desk, backend):
    a, b = sku(), sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, a, "count", 5), ev(WAREHOUSE.id, b, "count", 1)])
    refused = desk.hold(hold((a, 2), (b, 2)))
    assert refused.status == "refused"
    assert (available(backend, a), available(backend, b)) == (5, 1)
    held = desk.hold(hold((a, 2), (b, 1)))
    assert held.status == "held"
    assert (available(backend, a), available(backend, b)) == (3, 0)
    assert_never_oversold(backend)


def test_a_hold_is_split_across_locations_when_no_single_one_has_enough(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2), ev(STORE.id, s, "count", 2)])
    outcome = desk.hold(hold((s, 3)))
    assert outcome.status == "held"
    assert sorted((t.location, t.quantity) for t in outcome.takes) == [
        (WAREHOUSE.id, 2),
        (STORE.id, 1),
    ] or sorted((t.location, t.quantity) for t in outcome.takes) == [
        (STORE.id, 2),
        (WAREHOUSE.id, 1),
    ]
    assert available(backend, s) == 1


def test_concurrent_holds_for_the_last_unit_get_exactly_one_success(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(STORE.id, s, "count", 1)])
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        return desk.hold(hold((s, 1))).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert statuses.count("held") == 1
    assert statuses.count("refused") == 7
    assert backend.ledger.position(STORE.id, s).reserved == 1
    assert_never_oversold(backend)


def test_many_concurrent_holds_never_oversell_a_hot_sku(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 50), ev(STORE.id, s, "count", 7)])

    def attempt(i: int) -> int:
        outcome = desk.hold(hold((s, 1 + i % 3)))
        return sum(t.quantity for t in outcome.takes) if outcome.status == "held" else 0

    with ThreadPoolExecutor(8) as pool:
        taken = sum(pool.map(attempt, range(80)))
    assert taken <= 57
    assert available(backend, s) == 57 - taken
    while desk.hold(hold((s, 1))).status == "held":  # the last units go one by one
        taken += 1
    assert taken == 57
    assert available(backend, s) == 0
    assert_never_oversold(backend)


@pytest.mark.parametrize("pinned_first", [False, True])
def test_the_order_of_a_holds_lines_never_changes_its_answer(desk, backend, pinned_first):
    """WH has 6, the store 5: five pinned to WH and five from anywhere fit, in either order."""
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 6), ev(STORE.id, s, "count", 5)])
    anywhere = HoldLine(sku=s, quantity=5)
    pinned = HoldLine(sku=s, quantity=5, location=WAREHOUSE.id)
    lines = [pinned, anywhere] if pinned_first else [anywhere, pinned]
    outcome = desk.hold(HoldRequest(id=uuid.uuid4().hex, lines=lines))
    assert outcome.status == "held", outcome.reason
    taken = {(t.line, t.location): t.quantity for t in outcome.takes}
    pinned_line = lines.index(pinned)
    assert taken[(pinned_line, WAREHOUSE.id)] == 5
    assert available(backend, s) == 1
    assert_never_oversold(backend)
