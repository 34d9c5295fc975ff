"""Batch ingestion of stock events: one short SQL transaction decides, then the projection follows.

Consistency mechanism: SQLite has one writer at a time, so the positions a batch reads stay as
read until it commits. PostgreSQL reads them without locks and writes each one only if its version
and chain head are still as read (every writer of a position moves its version); if any moved
meanwhile, the transaction starts over with all the batch's positions locked in key order
(`FOR UPDATE`). A batch thus usually holds row locks only from its writes to its commit, and never
waits for a lock while holding others taken out of key order. The fold of inventory.stock.count_rule decides,
and every changed position gets version + 1.

Positions are read and written as the records of inventory.stock.ingest_sql (`PositionRead`,
`PositionWrite`) and the rule's state is count_rule's `Ledgered`: every decision here reads a
column by its name, so none depends on where a SELECT puts it. All three are NamedTuples, passed,
compared and sent to the driver as the bare tuples they replaced; only building them costs more
(under a microsecond a position), so the two built a position a batch are built from a tuple of
their values (`count_rule.ledgered`, `_position_write`), half the cost of calling the class.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection, select

from inventory.domain.model import StockEvent, short_units
from inventory.domain.projected import Projected
from inventory.stock import history
from inventory.stock import ingest_sql as bulk
from inventory.stock.count_rule import (
    Ledgered,
    Outcome,
    Verdict,
    earliest_new_count_us,
    fold,
    ledgered,
    lone_event,
    micros,
)
from inventory.stock.feed import Rejection
from inventory.stock.safety import SafetyBook, SafetyRule
from inventory.stock.safety_sql import SAFETY, lock_rules

Key = tuple[str, str]  # (location, sku)
# A record from its values in field order (unchecked), skipping the Python-level __new__ that
# calling a NamedTuple class runs (count_rule.ledgered does the same for the rule's state).
_position_write = partial(tuple.__new__, bulk.PositionWrite)


@dataclass(slots=True)
class BatchResult:
    """What became of each event of a batch, in batch order, and the positions it changed."""

    verdicts: list[tuple[int, Verdict]] = field(default_factory=list)
    changed: dict[Key, Projected] = field(default_factory=dict)
    replayed: dict[Key, Projected] = field(
        default_factory=dict
    )  # duplicates' positions, as they stand
    committed_s: float = 0.0  # perf_counter when SQL committed
    projected_s: float = 0.0  # perf_counter when the projection showed it

    def to_project(self) -> dict[Key, Projected]:
        """What the projection must show after this batch: the changed positions, and those its
        duplicates touched (their first attempt may not have reached it)."""
        return {**self.replayed, **self.changed} if self.replayed else self.changed

    def count(self, outcome: Outcome) -> int:
        return sum(1 for _, v in self.verdicts if v.outcome is outcome)

    def summary(self) -> dict[str, int]:
        return {o.value: self.count(o) for o in Outcome}

    def left_short(self) -> list[Key]:
        """The positions the batch changed that have less stock than is reserved there, so their
        newest holds are short (Reservations.short names them). Worked out only when asked."""
        changed = self.changed.items()
        return sorted(k for k, p in changed if short_units(p.on_hand, p.reserved, p.safety))


class PositionsMoved(Exception):
    """Another writer committed to a position the batch read unlocked (PostgreSQL): the
    transaction must start over with the positions locked (`ingest_events(..., locked=True)`)."""


def ingest_events(
    conn: Connection, events: Sequence[tuple[int, StockEvent]], now_us: int, locked: bool = False
) -> BatchResult:
    """Record and apply valid events inside the caller's transaction. Raises PositionsMoved (the
    caller rolls back) when a position moved under an unlocked read."""
    result = BatchResult()
    fresh, repeats = _drop_duplicates(conn, events, result)
    known = bulk.location_types(conn, sorted({e.location for _, e in fresh}))
    accepted: list[tuple[int, StockEvent]] = []
    for index, event in fresh:
        if event.location in known:
            accepted.append((index, event))
        else:
            reason = f"location: unknown location {event.location!r}"
            result.verdicts.append((index, Verdict(event.event_id, Outcome.rejected, reason)))
    if not accepted:
        return _sorted(result, repeats)

    times = [micros(e) for _, e in accepted]
    batch = _apply(conn, [e for _, e in accepted], times, now_us, known, result, locked)
    bulk.insert_events(conn, [
        (e.event_id, e.location, e.sku, e.type.value, e.quantity, t, r, e.source, v.outcome.value, p)
        for (_, e), t, v, p, r in zip(accepted, times, batch.verdicts, batch.previous, batch.received, strict=True)
    ])  # fmt: skip
    result.verdicts.extend(zip((index for index, _ in accepted), batch.verdicts, strict=True))
    return _sorted(result, repeats)


def _apply(
    conn: Connection,
    events: list[StockEvent],
    times: list[int],
    now_us: int,
    types: dict[str, str],
    result: BatchResult,
    locked: bool,
) -> _Batch:
    """Fold each position's events onto its row and write the rows, each event chained behind
    the one recorded before it at its position (see inventory.stock.history).

    On PostgreSQL the rows are read without locks (unless `locked`) and written only where they
    are still as read; if one moved meanwhile (a hold, another batch, or another batch that
    created it first), PositionsMoved ends the attempt. Returns the decisions: verdicts, and
    each event's predecessor and receive stamp, in the order of `events`; `result.changed` gets
    the new positions.
    """
    members: dict[Key, list[int]] = defaultdict(list)
    for i, event in enumerate(events):
        members[(event.location, event.sku)].append(i)
    batch = _Batch(conn, events, times, now_us, result)
    keys = sorted(members)
    if locked and conn.dialect.name == "postgresql":
        rows = {(row.location, row.sku): row for row in bulk.lock_positions(conn, keys)}
    else:
        rows = {(row.location, row.sku): row for row in bulk.read_positions(conn, keys)}
    moved = _write(conn, batch, members, keys, rows, types)
    if moved and not locked:
        # The writes have locked rows out of key order; waiting for more locks now could
        # deadlock a writer that locks in order, so the whole transaction starts over locked.
        raise PositionsMoved(sorted(moved))
    if moved:  # only another batch creating a position can have come between: it committed
        # first, so lock that position too and decide on top of it
        rows = {(row.location, row.sku): row for row in bulk.lock_positions(conn, sorted(moved))}
        if bulk.update_positions(conn, [batch.decide(k, rows[k], members[k]) for k in moved]):
            raise AssertionError("a locked position moved")
    return batch


def _write(
    conn: Connection,
    batch: _Batch,
    members: dict[Key, list[int]],
    keys: list[Key],
    rows: dict[Key, bulk.PositionRead],
    types: dict[str, str],
) -> set[Key]:
    """Decide every position and write it: the existing ones where they are still as read, the
    missing ones created with their first state (one write, no dead row left behind). Returns
    the keys that moved meanwhile or that another batch created first, left unwritten."""
    moved = bulk.update_positions(conn, [batch.decide(k, rows[k], members[k]) for k in rows])
    missing = [key for key in keys if key not in rows]
    if missing:
        safety = _safety_of(conn, missing, types)
        fresh = [
            batch.decide(key, bulk.new_position(key, units), members[key])
            for key, units in zip(missing, safety, strict=True)
        ]
        moved |= bulk.insert_positions(conn, fresh, safety)
    return moved


@dataclass(slots=True)
class _Batch:
    """The decisions of one batch, position by position; deciding a position again (after
    another batch created it first) replaces what was decided for it."""

    conn: Connection
    events: list[StockEvent]
    times: list[int]
    now_us: int
    result: BatchResult
    verdicts: list[Verdict] = field(init=False)
    previous: list[str | None] = field(init=False)
    received: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.verdicts = [None] * len(self.events)  # type: ignore[list-item]
        self.previous = [None] * len(self.events)
        self.received = [self.now_us] * len(self.events)

    def decide(self, key: Key, row: bulk.PositionRead, at: list[int]) -> bulk.PositionWrite:
        """The position's new row after its events `at`."""
        events, times = self.events, self.times
        old = ledgered(
            (row.on_hand, row.count_us, row.count_id, row.last_delta_us, row.reported_us)
        )
        new = None
        if len(at) == 1:  # most positions get one event a batch
            event = events[at[0]]
            new = lone_event(old, event, times[at[0]])
            if new is not None:
                self.verdicts[at[0]] = Verdict(event.event_id, Outcome.applied)
        if new is None:
            new = _fold_position(
                self.conn, row.last_event_id, old, at, events, times, self.verdicts
            )
        # A chain's receive stamps never go down, whatever the clocks of the writers (see
        # inventory.stock.history): the stamp is this clock's, or the head's if that is later.
        head, stamp = row.last_event_id, max(self.now_us, row.last_received_us or 0)
        for i in at:
            self.previous[i], self.received[i], head = head, stamp, events[i].event_id
        # The version moves only with what the projection shows; a stale event moves the head only.
        version = row.version
        if new != old:
            version += 1
            self.result.changed[key] = Projected.of(
                version, new.on_hand, row.reserved, row.safety, new.reported_us
            )
        else:
            self.result.changed.pop(key, None)
        return _position_write((
            row.location, row.sku, new.on_hand, new.count_us, new.count_id, new.last_delta_us,
            new.reported_us, version, head, stamp, row.version, row.last_event_id,
        ))  # fmt: skip


def _fold_position(
    conn: Connection,
    head: str | None,
    state: Ledgered,
    at: list[int],
    events: list[StockEvent],
    times: list[int],
    verdicts: list[Verdict],
) -> Ledgered:
    """The full rule for one position whose chain ends at `head`: fill in the verdicts of `at`,
    return the new state."""
    group, group_times = [events[i] for i in at], [times[i] for i in at]
    stored = _stored_deltas(conn, head, state, group, group_times)
    new_state, group_verdicts = fold(state, group, stored, group_times)
    for i, verdict in zip(at, group_verdicts, strict=True):
        verdicts[i] = verdict
    return new_state


def rejections_as_verdicts(rejections: Iterable[Rejection]) -> list[tuple[int, Verdict]]:
    return [(r.index, Verdict(r.event_id or "", Outcome.rejected, r.reason)) for r in rejections]


def _sorted(result: BatchResult, repeats: Sequence[tuple[int, int]] = ()) -> BatchResult:
    """The verdicts in batch order; each repeat of an event within the batch is a duplicate
    whose first result is that of the event's first copy."""
    if repeats:
        first = dict(result.verdicts)
        for index, original in repeats:
            verdict = first[original]
            result.verdicts.append(
                (index, Verdict(verdict.event_id, Outcome.duplicate, _REPEATED, verdict.outcome))
            )
    result.verdicts.sort(key=lambda item: item[0])
    return result


_RECORDED = "event_id already recorded"
_REPEATED = "event_id repeated within the batch"


def _content(event: StockEvent) -> tuple:
    """What an event says, as the log records it: a replay says the same under the same id."""
    return (
        event.location,
        event.sku,
        event.type.value,
        event.quantity,
        micros(event),
        event.source,
    )


def _conflict(event: StockEvent, where: str, first: tuple) -> Verdict:
    location, sku, kind, quantity = first[:4]
    reason = (
        f"event_id conflict: {event.event_id!r} {where} with other content"
        f" ({kind} {quantity} at {location}/{sku}); an event id names one event forever"
    )
    return Verdict(event.event_id, Outcome.rejected, reason)


def _drop_duplicates(
    conn: Connection, events: Sequence[tuple[int, StockEvent]], result: BatchResult
) -> tuple[list[tuple[int, StockEvent]], list[tuple[int, int]]]:
    """The events not recorded before, first copies only. A replay's verdict carries the result
    its event was first recorded with; the repeats within the batch (index, index of the first
    copy) get theirs once the first copies are decided. The same id with other content is
    rejected as a conflict, naming what the id was first given for."""
    recorded = bulk.recorded_events(conn, [e.event_id for _, e in events])
    first_copy: dict[str, tuple[int, StockEvent]] = {}
    fresh, repeats = [], []
    for index, event in events:
        if (known := recorded.get(event.event_id)) is not None:
            if _content(event) != known.content:
                verdict = _conflict(event, "was recorded", known.content)
            else:
                first = Outcome(known.outcome)
                verdict = Verdict(event.event_id, Outcome.duplicate, _RECORDED, first)
            result.verdicts.append((index, verdict))
        elif (copy := first_copy.get(event.event_id)) is not None:
            if (first := _content(copy[1])) != _content(event):
                result.verdicts.append(
                    (index, _conflict(event, "came earlier in the batch", first))
                )
            else:
                repeats.append((index, copy[0]))
        else:
            first_copy[event.event_id] = (index, event)
            fresh.append((index, event))
    return fresh, repeats


def _safety_of(conn: Connection, keys: list[Key], types: dict[str, str]) -> list[int]:
    """The safety stock new positions start with, by the rules in force (held until commit)."""
    lock_rules(conn, exclusive=False)
    book = SafetyBook(
        SafetyRule(r.units, r.location_type, r.location, r.sku)
        for r in conn.execute(select(SAFETY))
    )
    return [book.units(loc, types[loc], sku) for loc, sku in keys]


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
