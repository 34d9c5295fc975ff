"""Stock feeds into the ledger, on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from inventory.stock.count_rule import Outcome
from inventory.stock.feed import MAX_BATCH_EVENTS, BatchTooLarge
from tests.inventory.helpers import NETWORK, STORE, WAREHOUSE, ev, outcomes, sku


@pytest.fixture
def ledger(backend):
    """The ledger on the test network, on the real clock (unlike the shared fixture's)."""
    backend.ledger.upsert_locations(NETWORK)
    return backend.ledger


def test_a_count_then_later_sales_give_the_on_hand(ledger, backend):
    s = sku()
    result = ledger.ingest(
        [
            ev(STORE.id, s, "count", 10, 0),
            ev(STORE.id, s, "sale", 3, 5),
            ev(STORE.id, s, "receive", 4, 6),
        ]
    )
    assert outcomes(result) == ["applied"] * 3
    assert ledger.position(STORE.id, s).on_hand == 11
    assert backend.projection.read([s])[s][STORE.id].on_hand == 11


def test_replaying_an_event_changes_nothing_and_answers_its_first_result(ledger, backend):
    s = sku()
    receipt = ev(STORE.id, s, "receive", 5, 1)
    ledger.ingest([receipt])
    late = ev(STORE.id, s, "count", 9, 5)
    stale = ev(STORE.id, s, "sale", 2, 3)  # before the count: inside it
    assert outcomes(ledger.ingest([late, stale])) == ["applied", "stale"]
    again = ledger.ingest([receipt, stale, receipt])
    assert outcomes(again) == ["duplicate"] * 3
    assert [v.first.value for _, v in again.verdicts] == ["applied", "stale", "applied"]
    assert again.changed == {}
    assert ledger.position(STORE.id, s).on_hand == 9


def test_a_duplicate_inside_one_batch_counts_once(ledger):
    s = sku()
    receipt = ev(STORE.id, s, "receive", 5, 1)
    nowhere = ev("NO-SUCH-PLACE", s, "receive", 5, 1)
    result = ledger.ingest([receipt, receipt, nowhere, nowhere])
    assert outcomes(result) == ["applied", "duplicate", "rejected", "duplicate"]
    assert [v.first for _, v in result.verdicts] == [None, "applied", None, "rejected"]
    assert ledger.position(STORE.id, s).on_hand == 5


def test_a_late_sale_from_before_the_count_is_recorded_as_stale(ledger):
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 10, 10)])
    result = ledger.ingest([ev(STORE.id, s, "sale", 2, 5)])
    assert outcomes(result) == ["stale"]
    assert ledger.position(STORE.id, s).on_hand == 10


def test_a_late_count_keeps_the_receipts_that_followed_it(ledger, backend):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "receive", 5, 20)])
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 10, 10)])
    assert ledger.position(WAREHOUSE.id, s).on_hand == 15
    assert backend.projection.read([s])[s][WAREHOUSE.id].on_hand == 15


def test_an_older_count_than_the_applied_one_is_ignored(ledger):
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 4, 30)])
    result = ledger.ingest([ev(STORE.id, s, "count", 9, 10)])
    assert outcomes(result) == ["stale"]
    assert result.verdicts[0][1].reason == "older than the count already applied"
    assert ledger.position(STORE.id, s).on_hand == 4


def test_bad_events_are_rejected_each_with_its_reason_and_change_nothing(ledger, backend):
    s = sku()
    good = ev(STORE.id, s, "receive", 3, 1)
    bad = [
        ev("NOWHERE", s, "receive", 1),
        ev(STORE.id, s, "receive", -2),
        ev(STORE.id, s, "count", -1),
        ev(STORE.id, s, "receive", 10**9),
        {**ev(STORE.id, s, "receive", 1), "type": "teleport"},
        {**ev(STORE.id, s, "receive", 1), "quantity": "lots"},
        {**ev(STORE.id, s, "receive", 1), "occurred_at": "2999-01-01T00:00:00+00:00"},
        {**ev(STORE.id, s, "receive", 1), "occurred_at": "2026-11-01T08:00:00"},
        {**ev(STORE.id, s, "receive", 1), "unexpected": True},
        "not an event",
    ]
    result = ledger.ingest([good, *bad])
    verdicts = [v for _, v in result.verdicts]
    assert [v.outcome for v in verdicts] == [Outcome.applied] + [Outcome.rejected] * len(bad)
    reasons = [v.reason for v in verdicts[1:]]
    assert "unknown location 'NOWHERE'" in reasons[0]
    assert reasons[1] == "quantity: a receive carries a positive quantity"
    assert reasons[2] == "quantity: a count cannot be negative"
    assert reasons[3].startswith("quantity:")
    assert reasons[4].startswith("type:")
    assert reasons[5].startswith("quantity:")
    assert reasons[6] == "occurred_at: lies in the future"
    assert reasons[7].startswith("occurred_at:")
    assert reasons[8].startswith("unexpected:")
    assert reasons[9] == "an event must be an object"
    assert ledger.position(STORE.id, s).on_hand == 3
    assert ledger.position("NOWHERE", s) is None


def test_a_batch_over_the_limit_is_refused_whole(ledger):
    s = sku()
    with pytest.raises(BatchTooLarge, match=str(MAX_BATCH_EVENTS)):
        ledger.ingest([ev(STORE.id, s, "receive", 1) for _ in range(MAX_BATCH_EVENTS + 1)])
    assert ledger.position(STORE.id, s) is None


def test_arrival_order_does_not_change_the_position(ledger):
    a, b = sku(), sku()
    history = lambda s: [  # noqa: E731
        ev(STORE.id, s, "count", 20, 10, eid=f"{s}-c1"),
        ev(STORE.id, s, "sale", 2, 5, eid=f"{s}-s0"),
        ev(STORE.id, s, "sale", 3, 12, eid=f"{s}-s1"),
        ev(STORE.id, s, "count", 14, 15, eid=f"{s}-c2"),
        ev(STORE.id, s, "receive", 6, 16, eid=f"{s}-r1"),
        ev(STORE.id, s, "adjust", -1, 17, eid=f"{s}-a1"),
    ]
    for item in history(a):
        ledger.ingest([item])
    for item in reversed(history(b)):
        ledger.ingest([item])
    assert ledger.position(STORE.id, a).on_hand == ledger.position(STORE.id, b).on_hand == 19


def test_the_same_batch_sent_by_four_writers_at_once_counts_once(ledger):
    s = sku()
    batch = [ev(STORE.id, s, "receive", 2, i) for i in range(50)]
    start = threading.Barrier(4)

    def send(_: int) -> list[str]:
        start.wait()
        return outcomes(ledger.ingest(batch))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(send, range(4)))
    assert sorted(r.count("applied") for r in results) == [0, 0, 0, 50]
    assert all(set(r) <= {"applied", "duplicate"} for r in results)
    assert ledger.position(STORE.id, s).on_hand == 100


def test_a_batch_across_a_thousand_positions_moves_each_of_them(ledger):
    skus = [sku() for _ in range(1000)]
    ledger.ingest([ev(STORE.id, s, "count", 10, 1) for s in skus])
    result = ledger.ingest([ev(STORE.id, s, "sale", 1 + i % 3, 2) for i, s in enumerate(skus)])
    assert outcomes(result) == ["applied"] * 1000
    assert [ledger.position(STORE.id, s).on_hand for s in skus[:5]] == [9, 8, 7, 9, 8]
    assert ledger.position(STORE.id, skus[-1]).on_hand == 10 - (1 + 999 % 3)


def test_an_event_id_reused_for_other_content_is_a_conflict_that_changes_nothing(ledger, backend):
    a, b = sku(), sku()
    first = ev(WAREHOUSE.id, a, "count", 10, eid=f"e1-{a}")
    assert outcomes(ledger.ingest([first])) == ["applied"]
    other = ev(STORE.id, b, "receive", 500, eid=f"e1-{a}")
    result = ledger.ingest([other])
    assert outcomes(result) == ["rejected"]
    [(_, verdict)] = result.verdicts
    assert verdict.reason.startswith(f"event_id conflict: 'e1-{a}' was recorded with other content")
    assert f"count 10 at {WAREHOUSE.id}/{a}" in verdict.reason
    assert ledger.position(STORE.id, b) is None
    assert ledger.position(WAREHOUSE.id, a).on_hand == 10
    assert outcomes(ledger.ingest([first])) == ["duplicate"]  # the true replay still is one


def test_an_event_id_given_twice_in_one_batch_with_other_content_is_a_conflict(ledger):
    s = sku()
    three, four = (ev(STORE.id, s, "receive", units, eid=f"r-{s}") for units in (3, 4))
    result = ledger.ingest([three, four, three])
    assert outcomes(result) == ["applied", "rejected", "duplicate"]
    assert "came earlier in the batch" in result.verdicts[1][1].reason
    assert ledger.position(STORE.id, s).on_hand == 3
