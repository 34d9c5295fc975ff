"""The event log's per-position chain: late counts find the deltas they must carry, on both
backends, however the events arrive and however far apart their batches are received."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text

from inventory.domain.model import EventType
from inventory.domain.time import to_micros
from inventory.projection.reconcile import reconcile
from inventory.stock import history
from inventory.stock.count_rule import Ledgered, fold
from inventory.stock.feed import MAX_FUTURE_SKEW, parse_batch
from inventory.stock.history import deltas_after, position_history
from tests.inventory.helpers import NETWORK, STORE, T0, WAREHOUSE, ev, sku

KINDS = ["count", "sale", "receive", "adjust"]


def recorded_ids(ledger, location: str, s: str) -> set[str]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_id FROM stock_event WHERE location = :l AND sku = :s"),
            {"l": location, "s": s},
        )
        return {r.event_id for r in rows}


def history_ids(ledger, location: str, s: str) -> list[str]:
    with ledger.engine.connect() as conn:
        return [r.event_id for r in position_history(conn, location, s, limit=10_000)]


@st.composite
def arrivals(draw):
    """A position's events (minute, kind, quantity), split into batches that arrive in any
    order, each received at a clock from just behind its events (the feed allows a source up
    to MAX_FUTURE_SKEW ahead) to hours after them."""
    n = draw(st.integers(1, 14))
    events = [
        (
            draw(st.integers(0, 600)),
            kind := draw(st.sampled_from(KINDS)),
            draw(st.integers(0, 30)) if kind == "count" else draw(st.integers(1, 9)),
        )
        for _ in range(n)
    ]
    order = draw(st.permutations(range(n)))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=n - 1)))
    batches = [list(order[a:b]) for a, b in zip([0, *cuts], [*cuts, n], strict=True) if a < b]
    gaps = [draw(st.integers(0, 6 * 60)) for _ in batches]  # minutes the clock moves on
    return events, batches, gaps


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(arrivals())
def test_any_arrival_gives_the_fold_of_the_set_and_a_complete_chain(backend, case):
    events, batches, gaps = case
    ledger = backend.ledger
    ledger.upsert_locations(NETWORK)
    s = sku()
    raw = [ev(STORE.id, s, kind, qty, minute, eid=f"{s}-{i}") for i, (minute, kind, qty) in
           enumerate(events)]  # fmt: skip
    clock = T0 - MAX_FUTURE_SKEW + timedelta(seconds=1)
    for batch, gap in zip(batches, gaps, strict=True):
        latest = max(T0 + timedelta(minutes=events[i][0]) for i in batch)
        clock = max(clock + timedelta(minutes=gap), latest - MAX_FUTURE_SKEW + timedelta(seconds=1))
        ledger.clock = lambda at=clock: at
        ledger.ingest([raw[i] for i in batch])

    valid, rejected = parse_batch(raw, T0 + timedelta(days=1))
    assert not rejected
    expected, _ = fold(Ledgered(), [e for _, e in valid])
    assert ledger.position(STORE.id, s).on_hand == expected.on_hand
    chain = history_ids(ledger, STORE.id, s)
    assert len(chain) == len(set(chain)) == len(events)
    assert set(chain) == recorded_ids(ledger, STORE.id, s)
    arrival = [raw[i]["event_id"] for batch in batches for i in batch]
    assert chain == arrival[::-1]  # newest first, in the order they were committed


def test_the_walk_stops_at_events_received_long_before_the_count(backend):
    """A delta received more than the skew and clock margin before a count's time cannot have
    occurred after it; the walk does not read that far back."""
    ledger = backend.ledger
    ledger.upsert_locations(NETWORK)
    s = sku()
    for minute in range(0, 60 * 24, 60):  # a day of hourly receipts, each received on time
        ledger.clock = lambda m=minute: T0 + timedelta(minutes=m)
        ledger.ingest([ev(WAREHOUSE.id, s, "receive", 1, minute, eid=f"{s}-r{minute}")])
    since = to_micros(T0 + timedelta(hours=20, minutes=30))
    with ledger.engine.connect() as conn:
        head = conn.execute(
            text("SELECT last_event_id FROM position WHERE location = :l AND sku = :s"),
            {"l": WAREHOUSE.id, "s": s},
        ).scalar()
        found = deltas_after(conn, head, since)
        walked = conn.execute(
            text(history._WALK + "SELECT count(*) FROM back"),
            {"head": head, "stop_us": since - history.WALK_MARGIN_US, "limit": history.UNBOUNDED},
        ).scalar()
    assert sorted(found) == [(to_micros(T0 + timedelta(hours=h)), 1) for h in (21, 22, 23)]
    assert walked == 4  # 23h, 22h, 21h, then 20h: received before the stop, it ends the walk

    # and the count itself lands on top of exactly those receipts
    ledger.clock = lambda: T0 + timedelta(days=2)
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 100, 20 * 60 + 30)])
    assert ledger.position(WAREHOUSE.id, s).on_hand == 103


def test_a_stale_event_joins_the_chain_without_moving_the_version(backend):
    ledger = backend.ledger
    ledger.upsert_locations(NETWORK)
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 10, 10, eid=f"{s}-c")])
    before = backend.projection.read([s])[s][STORE.id]
    result = ledger.ingest([ev(STORE.id, s, "sale", 2, 5, eid=f"{s}-late")])
    assert [v.outcome.value for _, v in result.verdicts] == ["stale"]
    assert history_ids(ledger, STORE.id, s) == [f"{s}-late", f"{s}-c"]
    assert backend.projection.read([s])[s][STORE.id] == before
    with ledger.engine.connect() as conn:
        version = conn.execute(
            text("SELECT version FROM position WHERE location = :l AND sku = :s"),
            {"l": STORE.id, "s": s},
        ).scalar()
    assert version == before.version
    assert [e.type for e in position_history_of(ledger, s)] == [EventType.sale, EventType.count]


def position_history_of(ledger, s: str):
    with ledger.engine.connect() as conn:
        return position_history(conn, STORE.id, s, limit=2)


def test_a_clock_that_steps_back_does_not_hide_a_delta_from_a_late_count(backend):
    """Receive stamps never go down along a chain: an event received by a clock that stepped
    back (or by a host whose clock lags) takes the stamp of the event before it, so the walk
    still reaches the deltas behind it."""
    ledger = backend.ledger
    ledger.upsert_locations(NETWORK)
    s = sku()
    ledger.clock = lambda: T0 + timedelta(hours=10)
    ledger.ingest([ev(STORE.id, s, "receive", 5, 9 * 60, eid=f"{s}-d")])
    ledger.clock = lambda: T0  # ten hours back
    ledger.ingest([ev(STORE.id, s, "adjust", -1, -60, eid=f"{s}-e")])
    with ledger.engine.connect() as conn:
        stamps = [e.received_us for e in position_history(conn, STORE.id, s)]
    assert stamps == [to_micros(T0 + timedelta(hours=10))] * 2
    ledger.clock = lambda: T0 + timedelta(hours=10)
    ledger.ingest([ev(STORE.id, s, "count", 40, 8 * 60, eid=f"{s}-c")])
    assert ledger.position(STORE.id, s).on_hand == 45  # the count, and the receipt after it


def test_a_chain_that_loops_is_an_error_not_an_endless_walk(backend, monkeypatch):
    ledger = backend.ledger
    ledger.upsert_locations(NETWORK)
    s = sku()
    ledger.ingest([ev(STORE.id, s, "receive", 1, 10, eid=f"{s}-a")])
    ledger.ingest([ev(STORE.id, s, "receive", 1, 20, eid=f"{s}-b")])
    with ledger.engine.begin() as conn:  # joined wrongly by hand
        conn.execute(
            text("UPDATE stock_event SET prev_event_id = :b WHERE event_id = :a"),
            {"a": f"{s}-a", "b": f"{s}-b"},
        )
    monkeypatch.setattr(history, "WALK_LIMIT", 50)
    with ledger.engine.connect() as conn, pytest.raises(history.ChainTooLong, match=f"{s}-b"):
        deltas_after(conn, f"{s}-b", to_micros(T0))


def test_concurrent_batches_keep_every_chain_whole_and_every_position_true(backend):
    """Four writers send overlapping batches (shared positions, some shared event ids) at once:
    every recorded event is in its position's chain exactly once, and every position equals the
    fold of its events."""
    ledger = backend.ledger
    ledger.upsert_locations(NETWORK)
    skus = [sku() for _ in range(4)]
    start = threading.Barrier(4)

    def writer(seed: int) -> None:
        rnd = random.Random(seed)
        start.wait()
        for _ in range(15):
            batch = []
            for _ in range(rnd.randint(1, 8)):
                shared = rnd.random() < 0.1  # the same id from several writers: recorded once
                kind = rnd.choice(KINDS)
                batch.append(
                    ev(
                        STORE.id if shared else rnd.choice([STORE.id, WAREHOUSE.id]),
                        skus[0] if shared else rnd.choice(skus),
                        "receive" if shared else kind,
                        rnd.randint(1, 9),
                        rnd.randint(0, 600),
                        eid=f"{skus[0]}-shared-{rnd.randint(0, 20)}" if shared else None,
                    )
                )
            ledger.ingest(batch)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(4)))
    for location in (STORE.id, WAREHOUSE.id):
        for s in skus:
            chain = history_ids(ledger, location, s)
            assert len(chain) == len(set(chain))
            assert set(chain) == recorded_ids(ledger, location, s)
    assert reconcile(ledger).drifts == []
