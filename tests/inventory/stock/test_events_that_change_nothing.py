"""Stock events that must change nothing do not: rejected, oversized, replayed and stale ones
leave the positions, the event log and the projection as they were, while the valid events of
their batch apply. On both backends."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import func, select

from inventory.sql.schema import PositionRow, StockEventRow
from inventory.stock.feed import MAX_BATCH_EVENTS, BatchTooLarge
from tests.inventory.helpers import STORE, WAREHOUSE, ev, outcomes, sku

POS = PositionRow.__table__


EVENTS = StockEventRow.__table__


@dataclasses.dataclass(frozen=True)
class Snapshot:
    positions: list[tuple]  # every column of the SKUs' SQL positions
    position_count: int
    event_count: int
    records: dict[str, bytes | None]  # the projection's raw record of each SKU


def snapshot(backend, skus: list[str]) -> Snapshot:
    with backend.ledger.engine.connect() as conn:
        rows = conn.execute(
            select(POS).where(POS.c.sku.in_(skus)).order_by(POS.c.location, POS.c.sku)
        ).all()
        events = conn.scalar(select(func.count()).select_from(EVENTS))
    projection = backend.projection
    return Snapshot(
        [tuple(row) for row in rows],
        backend.ledger.positions_count(),
        int(events),
        {s: projection.raw.get(projection.stock_key(s)) for s in skus},
    )


def test_rejected_events_change_nothing_while_the_valid_ones_of_their_batch_apply(ledger, backend):
    s, t, u = sku(), sku(), sku()
    ledger.ingest([ev(STORE.id, s, "count", 10), ev(WAREHOUSE.id, t, "count", 6)])
    before = snapshot(backend, [t, u])
    before_all = snapshot(backend, [s, t, u])
    bad = [
        ev("NOWHERE", t, "receive", 1),
        ev("NOWHERE", u, "count", 4),
        ev(WAREHOUSE.id, t, "receive", -2),
        ev(WAREHOUSE.id, t, "count", -1),
        {**ev(WAREHOUSE.id, t, "receive", 1), "type": "teleport"},
        {**ev(WAREHOUSE.id, t, "receive", 1), "quantity": "lots"},
    ]
    good = [ev(STORE.id, s, "receive", 3, 1), ev(WAREHOUSE.id, s, "receive", 2, 1)]
    result = ledger.ingest([good[0], *bad, good[1]])
    assert outcomes(result) == ["applied", *["rejected"] * len(bad), "applied"]

    assert snapshot(backend, [t, u]).positions == before.positions
    assert snapshot(backend, [t, u]).records == before.records
    assert backend.projection.raw.get(backend.projection.stock_key(u)) is None
    after = snapshot(backend, [s, t, u])
    assert after.event_count == before_all.event_count + len(good)
    assert after.position_count == before_all.position_count + 1  # s at the warehouse
    assert (ledger.position(STORE.id, s).on_hand, ledger.position(WAREHOUSE.id, s).on_hand) == (
        13,
        2,
    )
    assert {loc: p.on_hand for loc, p in backend.projection.read([s])[s].items()} == {
        STORE.id: 13,
        WAREHOUSE.id: 2,
    }

    only_bad = [{**e, "event_id": uuid.uuid4().hex} if isinstance(e, dict) else e for e in bad]
    assert outcomes(ledger.ingest(only_bad)) == ["rejected"] * len(bad)
    assert snapshot(backend, [s, t, u]) == after


def test_an_oversized_batch_changes_nothing_at_all(ledger, backend):
    s, t = sku(), sku()
    ledger.ingest([ev(STORE.id, s, "count", 10)])
    before = snapshot(backend, [s, t])
    batch = [ev(STORE.id, s, "receive", 1, i / 100) for i in range(MAX_BATCH_EVENTS)]
    with pytest.raises(BatchTooLarge, match=str(MAX_BATCH_EVENTS)):
        ledger.ingest([*batch, ev(WAREHOUSE.id, t, "count", 5)])
    assert snapshot(backend, [s, t]) == before


def test_a_replayed_batch_says_duplicate_and_its_ids_with_other_contents_are_conflicts(
    ledger, backend
):
    s, t = sku(), sku()
    batch = [
        ev(STORE.id, s, "count", 10, 0),
        ev(STORE.id, s, "sale", 2, 5),
        ev(WAREHOUSE.id, s, "receive", 5, 6),
        ev(WAREHOUSE.id, t, "adjust", 3, 7),
    ]
    assert outcomes(ledger.ingest(batch)) == ["applied"] * 4
    before = snapshot(backend, [s, t])
    assert outcomes(ledger.ingest(batch)) == ["duplicate"] * 4
    assert snapshot(backend, [s, t]) == before
    altered = [{**e, "quantity": 99} for e in reversed(batch)]  # same ids, other contents
    result = ledger.ingest(altered)
    assert outcomes(result) == ["rejected"] * 4
    assert all("event_id conflict" in v.reason for _, v in result.verdicts)
    assert snapshot(backend, [s, t]) == before
    assert ledger.position(STORE.id, s).on_hand == 8


def test_a_stale_count_is_recorded_as_stale_and_changes_no_stock(ledger, backend):
    """Design: a stale event is recorded (so its replay is known as a duplicate and the history
    shows it) and changes nothing else: the position's stock, version and projection stay."""
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 4, 30), ev(STORE.id, s, "receive", 2, 40)])
    before = snapshot(backend, [s])
    stale = ev(STORE.id, s, "count", 9, 10)
    result = ledger.ingest([stale])
    assert outcomes(result) == ["stale"]
    assert result.changed == {}
    after = snapshot(backend, [s])
    assert after.records == before.records
    stock_columns = [
        c.name for c in POS.columns if c.name not in ("last_event_id", "last_received_us")
    ]
    keep = [POS.columns.keys().index(c) for c in stock_columns]
    assert [[row[i] for i in keep] for row in after.positions] == [
        [row[i] for i in keep] for row in before.positions
    ]
    assert after.position_count == before.position_count
    assert after.event_count == before.event_count + 1
    with ledger.engine.connect() as conn:
        recorded = conn.scalar(
            select(EVENTS.c.outcome).where(EVENTS.c.event_id == stale["event_id"])
        )
    assert recorded == "stale"
    assert outcomes(ledger.ingest([stale])) == ["duplicate"]
    assert snapshot(backend, [s]) == after
    assert ledger.position(STORE.id, s).on_hand == 6


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("event_id", "bad\x00id", "event_id"),
        ("event_id", "   ", "event_id"),
        ("source", "pos\x00", "source"),
        ("quantity", "5", "quantity"),
        ("quantity", True, "quantity"),
        ("occurred_at", 1_700_000_000, "not a number"),
    ],
)
def test_an_event_with_a_bad_field_is_rejected_alone_and_the_rest_of_its_batch_applies(
    ledger, backend, field, value, reason
):
    """On PostgreSQL a NUL in an id or source failed the whole batch; loose types were taken."""
    s, t = sku(), sku()
    bad = {**ev(STORE.id, s, "receive", 3), field: value}
    result = ledger.ingest([bad, ev(WAREHOUSE.id, t, "count", 7)])
    assert outcomes(result) == ["rejected", "applied"]
    assert reason in result.verdicts[0][1].reason
    assert ledger.position(STORE.id, s) is None
    assert ledger.position(WAREHOUSE.id, t).on_hand == 7
