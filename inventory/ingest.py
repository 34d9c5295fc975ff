"""Batch ingestion of stock events: one short SQL transaction decides, then the projection follows.

Consistency mechanism: the positions a batch touches are locked in a fixed order (location, sku)
for the length of the transaction (PostgreSQL `FOR UPDATE`; SQLite has one writer at a time), the
fold of inventory.rules decides, and every changed position gets version + 1. On PostgreSQL the
existing positions are locked first and the ones the batch creates after them, each set in key
order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from inventory import bulk, history
from inventory.feed import Rejection
from inventory.model import StockEvent
from inventory.projection import Projected
from inventory.rules import (
    Ledgered,
    Outcome,
    Verdict,
    earliest_new_count_us,
    fold,
    lone_event,
    micros,
)
from inventory.safety import SAFETY, SafetyBook, SafetyRule
from inventory.schema import LocationRow

LOC = LocationRow.__table__

Key = tuple[str, str]  # (location, sku)


@dataclass(slots=True)
class BatchResult:
    """What became of each event of a batch, in batch order, and the positions it changed."""

    verdicts: list[tuple[int, Verdict]] = field(default_factory=list)
    changed: dict[Key, Projected] = field(default_factory=dict)
    committed_s: float = 0.0  # perf_counter when SQL committed
    projected_s: float = 0.0  # perf_counter when the projection showed it

    def count(self, outcome: Outcome) -> int:
        return sum(1 for _, v in self.verdicts if v.outcome is outcome)

    def summary(self) -> dict[str, int]:
        return {o.value: self.count(o) for o in Outcome}


def ingest_events(
    conn: Connection, events: Sequence[tuple[int, StockEvent]], now_us: int
) -> BatchResult:
    """Record and apply valid events inside the caller's transaction."""
    result = BatchResult()
    fresh = _drop_duplicates(conn, events, result)
    known = _known_locations(conn, {e.location for _, e in fresh})
    accepted: list[tuple[int, StockEvent]] = []
    for index, event in fresh:
        if event.location in known:
            accepted.append((index, event))
        else:
            reason = f"location: unknown location {event.location!r}"
            result.verdicts.append((index, Verdict(event.event_id, Outcome.rejected, reason)))
    if not accepted:
        return _sorted(result)

    times = [micros(e) for _, e in accepted]
    verdicts, previous = _apply(conn, [e for _, e in accepted], times, known, result)
    bulk.insert_events(conn, [
        (e.event_id, e.location, e.sku, e.type.value, e.quantity, t, now_us, e.source, v.outcome.value, p)
        for (_, e), t, v, p in zip(accepted, times, verdicts, previous, strict=True)
    ])  # fmt: skip
    result.verdicts.extend(zip((index for index, _ in accepted), verdicts, strict=True))
    return _sorted(result)


def _apply(
    conn: Connection,
    events: list[StockEvent],
    times: list[int],
    types: dict[str, str],
    result: BatchResult,
) -> tuple[list[Verdict], list[str | None]]:
    """Fold each position's events onto its locked row and write the rows, each event chained
    behind the one recorded before it at its position (see inventory.history).

    Returns the verdicts and each event's predecessor, in the order of `events`;
    `result.changed` gets the new positions.
    """
    members: dict[Key, list[int]] = defaultdict(list)
    for i, event in enumerate(events):
        members[(event.location, event.sku)].append(i)
    rows = _lock_positions(conn, sorted(members), types)
    verdicts: list[Verdict] = [None] * len(events)  # type: ignore[list-item]
    previous: list[str | None] = [None] * len(events)
    updates = []
    for key, at in members.items():
        row = rows[key]
        old = (row[2], *row[5:9])
        new = None
        if len(at) == 1:  # most positions get one event a batch
            event = events[at[0]]
            new = lone_event(old, event, times[at[0]])
            if new is not None:
                verdicts[at[0]] = Verdict(event.event_id, Outcome.applied)
        if new is None:
            new = _fold_position(conn, row, at, events, times, verdicts)
        head = row[10]
        for i in at:
            previous[i], head = head, events[i].event_id
        # The version moves only with what the projection shows; a stale event moves the head only.
        version = row[9] + 1 if new != old else row[9]
        updates.append((*key, *new, version, head))
        if new != old:
            result.changed[key] = Projected.of(version, new[0], row[3], row[4], new[4])
    bulk.update_positions(conn, updates)
    return verdicts, previous


def _fold_position(
    conn: Connection,
    row: tuple,
    at: list[int],
    events: list[StockEvent],
    times: list[int],
    verdicts: list[Verdict],
) -> tuple:
    """The full rule for one position: fill in the verdicts of `at`, return the new
    (on_hand, count_us, count_id, last_delta_us, reported_us)."""
    state = Ledgered(row[2], *row[5:9])
    group, group_times = [events[i] for i in at], [times[i] for i in at]
    stored = _stored_deltas(conn, row[10], state, group, group_times)
    new_state, group_verdicts = fold(state, group, stored, group_times)
    for i, verdict in zip(at, group_verdicts, strict=True):
        verdicts[i] = verdict
    return (new_state.on_hand, new_state.count_us, new_state.count_id,
            new_state.last_delta_us, new_state.reported_us)  # fmt: skip


def rejections_as_verdicts(rejections: Iterable[Rejection]) -> list[tuple[int, Verdict]]:
    return [(r.index, Verdict(r.event_id or "", Outcome.rejected, r.reason)) for r in rejections]


def _sorted(result: BatchResult) -> BatchResult:
    result.verdicts.sort(key=lambda item: item[0])
    return result


def _drop_duplicates(
    conn: Connection, events: Sequence[tuple[int, StockEvent]], result: BatchResult
) -> list[tuple[int, StockEvent]]:
    seen = bulk.existing_event_ids(conn, [e.event_id for _, e in events])
    fresh = []
    for index, event in events:
        if event.event_id in seen:
            result.verdicts.append(
                (index, Verdict(event.event_id, Outcome.duplicate, "event_id already recorded"))
            )
        else:
            seen.add(event.event_id)
            fresh.append((index, event))
    return fresh


def _known_locations(conn: Connection, ids: set[str]) -> dict[str, str]:
    """location id -> type, for the ids that exist."""
    rows = conn.execute(select(LOC.c.id, LOC.c.type).where(LOC.c.id.in_(sorted(ids))))
    return {row.id: row.type for row in rows}


def _lock_positions(conn: Connection, keys: list[Key], types: dict[str, str]) -> dict[Key, tuple]:
    """Lock the positions in key order, creating the missing ones with their safety stock."""

    def safety_of(missing: list[Key]) -> list[int]:
        book = SafetyBook(
            SafetyRule(r.units, r.location_type, r.location, r.sku)
            for r in conn.execute(select(SAFETY))
        )
        return [book.units(loc, types[loc], sku) for loc, sku in missing]

    return {(row[0], row[1]): row for row in bulk.lock_positions(conn, keys, safety_of)}


def _stored_deltas(
    conn: Connection, head: str | None, state: Ledgered, group: list[StockEvent], times: list[int]
) -> list[tuple[int, int]]:
    """Deltas already in the ledger that a new, earlier-than-them count must carry on top of itself."""
    if state.last_delta_us is None:
        return []
    since = earliest_new_count_us(state, group, times)
    if since is None or state.last_delta_us <= since:
        return []
    return history.deltas_after(conn, head, since)
