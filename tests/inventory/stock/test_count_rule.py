"""The count rule, staleness and arrival-order independence, on the pure fold."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from inventory.domain.model import EventType, StockEvent
from inventory.domain.time import to_micros
from inventory.stock.count_rule import Ledgered, Outcome, fold, lone_event, micros

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def event(eid: str, kind: EventType, qty: int, minutes: int) -> StockEvent:
    return StockEvent(eid, "ST-1", "SKU-1", kind, qty, T0 + timedelta(minutes=minutes), "test")


def apply_in_batches(events: list[StockEvent], batches: list[list[StockEvent]]) -> Ledgered:
    """What the ledger does: fold each batch on top of the state, with the stored deltas it needs."""
    state, stored = Ledgered(), []
    for batch in batches:
        state, verdicts = fold(
            state, batch, [(micros(e), e.delta) for e in stored if not e.is_count]
        )
        stored.extend(batch)
        assert len(verdicts) == len(batch)
    return state


def test_a_count_replaces_on_hand():
    state, verdicts = fold(Ledgered(on_hand=7), [event("c", EventType.count, 3, 0)])
    assert state.on_hand == 3
    assert verdicts[0].outcome is Outcome.applied


def test_a_sale_before_the_latest_count_is_already_inside_it():
    counted, _ = fold(Ledgered(), [event("c", EventType.count, 10, 10)])
    state, verdicts = fold(counted, [event("s", EventType.sale, 2, 5)])
    assert state.on_hand == 10
    assert verdicts[0].outcome is Outcome.stale
    assert "before the latest count" in verdicts[0].reason


def test_a_sale_after_the_latest_count_is_applied():
    counted, _ = fold(Ledgered(), [event("c", EventType.count, 10, 10)])
    state, _ = fold(counted, [event("s", EventType.sale, 2, 11)])
    assert state.on_hand == 8


def test_a_late_count_keeps_the_deltas_that_happened_after_it():
    first, _ = fold(Ledgered(), [event("r", EventType.receive, 5, 20)])
    stored = [(micros(event("r", EventType.receive, 5, 20)), 5)]
    state, verdicts = fold(first, [event("c", EventType.count, 10, 10)], stored)
    assert state.on_hand == 15
    assert verdicts[0].outcome is Outcome.applied


def test_a_count_older_than_the_applied_one_is_ignored_as_stale():
    counted, _ = fold(Ledgered(), [event("c2", EventType.count, 4, 30)])
    state, verdicts = fold(counted, [event("c1", EventType.count, 9, 10)])
    assert state.on_hand == 4
    assert verdicts[0].outcome is Outcome.stale


def test_two_counts_in_one_batch_the_later_one_wins_whatever_their_order():
    a, b = event("c1", EventType.count, 9, 10), event("c2", EventType.count, 4, 30)
    assert fold(Ledgered(), [a, b])[0].on_hand == fold(Ledgered(), [b, a])[0].on_hand == 4


event_kinds = st.sampled_from(
    [EventType.count, EventType.adjust, EventType.receive, EventType.sale]
)


@st.composite
def histories(draw) -> list[StockEvent]:
    n = draw(st.integers(min_value=1, max_value=25))
    events = []
    for i in range(n):
        kind = draw(event_kinds)
        qty = draw(st.integers(0, 50)) if kind is EventType.count else draw(st.integers(1, 20))
        if kind is EventType.adjust:
            qty = draw(st.integers(-10, 10))
        events.append(event(f"e{i}", kind, qty, draw(st.integers(0, 40))))
    return events


def expected_on_hand(events: list[StockEvent]) -> int:
    """The definition: latest count (time, then id) plus every delta strictly after it."""
    counts = [e for e in events if e.is_count]
    if not counts:
        return sum(e.delta for e in events)
    last = max(counts, key=lambda e: (micros(e), e.event_id))
    return last.quantity + sum(
        e.delta for e in events if not e.is_count and micros(e) > micros(last)
    )


@seed(20261122)
@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_the_position_does_not_depend_on_arrival_order_or_batching(events, rnd: random.Random):
    shuffled = events[:]
    rnd.shuffle(shuffled)
    cuts = (
        sorted(rnd.sample(range(1, len(shuffled)), k=min(3, len(shuffled) - 1)))
        if len(shuffled) > 1
        else []
    )
    batches, start = [], 0
    for cut in [*cuts, len(shuffled)]:
        batches.append(shuffled[start:cut])
        start = cut
    in_order = apply_in_batches(events, [sorted(events, key=micros)])
    out_of_order = apply_in_batches(shuffled, batches)
    assert out_of_order.on_hand == in_order.on_hand == expected_on_hand(events)
    assert out_of_order.count_us == in_order.count_us


maybe_us = st.one_of(
    st.none(),
    st.integers(0, 40 * 60_000_000).map(lambda us: to_micros(T0) + us),
    st.integers(0, 40).map(lambda m: to_micros(T0) + m * 60_000_000),  # on an event's minute
)


@seed(20261123)
@settings(max_examples=500, deadline=None)
@given(histories(), maybe_us, maybe_us, maybe_us, st.integers(-50, 50), st.sampled_from("az"))
def test_the_shortcut_for_a_lone_event_agrees_with_the_fold(
    events, count, last, reported, stock, count_id
):
    # the applied count's id sorts before or after the event's ("e<i>"): ties on time go both ways
    state = Ledgered(stock, count, count_id if count is not None else None, last, reported)
    event = events[0]
    stored = [(last, 3)] if last is not None else []  # the delta that set last_delta_us
    quick = lone_event(state, event, micros(event))
    folded, verdicts = fold(state, [event], [(t, d) for t, d in stored if t > micros(event)])
    if quick is None:
        stale = verdicts[0].outcome is Outcome.stale
        assert stale or (event.is_count and last is not None and last > micros(event))
    else:
        assert verdicts[0].outcome is Outcome.applied
        assert isinstance(quick, Ledgered) and quick == folded


@pytest.mark.parametrize(("held_id", "wins"), [("a", True), ("z", False)])
def test_two_counts_at_the_same_time_are_ordered_by_id_in_the_shortcut_too(held_id, wins):
    count = event("e0", EventType.count, 4, 5)
    at = micros(count)
    state = Ledgered(9, at, held_id, None, at)
    quick = lone_event(state, count, at)
    folded, verdicts = fold(state, [count])
    assert (verdicts[0].outcome is Outcome.applied) is wins
    assert quick == (Ledgered(4, at, "e0", None, at) if wins else None)
    assert folded.on_hand == (4 if wins else 9)
