"""How stock events move a position: the count rule, staleness and replay. Pure functions.

The resulting position depends only on the *set* of events, never on their arrival order:
on_hand = the latest count (by occurred_at, then event_id) + every delta that occurred after it;
without any count, the sum of all deltas. A delta at or before the latest count is inside it.
The engine's own deltas (a shipment's `ship`, a return) follow the same rule, but only a feed's
events say when the location last reported (`reported_us`, which vendor freshness reads).

One type, `Ledgered`, carries that state in and out of both the shortcut (`lone_event`) and the
full rule (`fold`). It is a NamedTuple rather than a dataclass: the ingest path builds two a
position a batch, and a tuple costs a fraction of a frozen dataclass to build, still read by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import NamedTuple

from inventory.domain.model import DELTA_SIGN, ENGINE_WRITTEN, EventType, StockEvent
from inventory.domain.time import to_micros


class Outcome(StrEnum):
    applied = "applied"  # moved on_hand (or set it, for a count)
    stale = "stale"  # already inside a count: recorded, changes nothing
    duplicate = "duplicate"  # event_id seen before: the first result stands
    rejected = "rejected"  # invalid: not recorded


class Ledgered(NamedTuple):
    """The part of a position that the feed rules decide. Times in microseconds since the epoch."""

    on_hand: int = 0
    count_us: int | None = None
    count_id: str | None = None
    last_delta_us: int | None = None
    reported_us: int | None = None

    def counted_after(self, occurred_us: int, event_id: str) -> bool:
        """True when the latest applied count is later than (occurred_us, event_id)."""
        if self.count_us is None:
            return False
        return (self.count_us, self.count_id or "") >= (occurred_us, event_id)


@dataclass(frozen=True, slots=True)
class Verdict:
    event_id: str
    outcome: Outcome
    reason: str = ""
    first: Outcome | None = None  # a duplicate's: the result its event got the first time


def micros(event: StockEvent) -> int:
    return to_micros(event.occurred_at)


def earliest_new_count_us(
    state: Ledgered, events: Sequence[StockEvent], times: Sequence[int]
) -> int | None:
    """The earliest count in `events` (occurred at `times`) that could replace the current one.

    The caller needs the stored deltas after this time only when they may exist, i.e. when
    state.last_delta_us is later.
    """
    counts = [
        t for e, t in zip(events, times, strict=True)
        if e.is_count and not state.counted_after(t, e.event_id)
    ]  # fmt: skip
    return min(counts) if counts else None


# Ledgered from its values in field order, without the Python-level __new__ that calling a
# NamedTuple class runs: half the cost, on a path that runs once a position a batch.
ledgered = partial(tuple.__new__, Ledgered)


def lone_event(state: Ledgered, event: StockEvent, occurred_us: int) -> Ledgered | None:
    """The common cases of a feed, without the fold: one event for a position in a batch, either
    a delta later than the latest count, or a count later than the latest count and every delta
    (so no stored delta rides on top of it). Returns the new state, or None when the fold must
    decide (stale events, a count with later deltas)."""
    count_us, count_id, last_delta_us = state.count_us, state.count_id, state.last_delta_us
    reported_us = state.reported_us
    reported = reported_us
    if (reported_us is None or occurred_us > reported_us) and event.type not in ENGINE_WRITTEN:
        reported = occurred_us
    if event.type is EventType.count:
        if count_us is not None and (count_us, count_id or "") >= (occurred_us, event.event_id):
            return None
        if last_delta_us is not None and last_delta_us > occurred_us:
            return None
        return ledgered((event.quantity, occurred_us, event.event_id, last_delta_us, reported))
    if count_us is not None and occurred_us <= count_us:
        return None
    last = occurred_us if last_delta_us is None or occurred_us > last_delta_us else last_delta_us
    on_hand = state.on_hand + DELTA_SIGN[event.type] * event.quantity
    return ledgered((on_hand, count_us, count_id, last, reported))


def fold(
    state: Ledgered,
    events: Sequence[StockEvent],
    stored_deltas: Sequence[tuple[int, int]] = (),
    times: Sequence[int] | None = None,
) -> tuple[Ledgered, list[Verdict]]:
    """Apply new, distinct, valid events of one position to its state.

    `stored_deltas` holds (occurred_us, delta) of the deltas already in the ledger that occurred
    after `earliest_new_count_us(state, events)`; a new count must add them back on top of itself.
    `times` are the events' occurred_us, when the caller has them already.
    """
    if times is None:
        times = [micros(e) for e in events]
    verdicts: list[Verdict | None] = [None] * len(events)
    best: int | None = None  # index of the winning new count
    for i, event in enumerate(events):
        if not event.is_count:
            continue
        key = (times[i], event.event_id)
        if state.counted_after(*key):
            verdicts[i] = Verdict(
                event.event_id, Outcome.stale, "older than the count already applied"
            )
        elif best is None or key > (times[best], events[best].event_id):
            if best is not None:
                verdicts[best] = Verdict(
                    events[best].event_id, Outcome.stale, "superseded by a later count"
                )
            best = i
        else:
            verdicts[i] = Verdict(event.event_id, Outcome.stale, "superseded by a later count")

    on_hand, count_us, count_id = state.on_hand, state.count_us, state.count_id
    if best is not None:
        count_us, count_id = times[best], events[best].event_id
        on_hand = events[best].quantity + sum(d for t, d in stored_deltas if t > count_us)
        verdicts[best] = Verdict(count_id, Outcome.applied)

    last_delta = state.last_delta_us
    for i, event in enumerate(events):
        if event.is_count:
            continue
        if count_us is not None and times[i] <= count_us:
            verdicts[i] = Verdict(
                event.event_id, Outcome.stale, "occurred before the latest count, which includes it"
            )
            continue
        on_hand += event.delta
        last_delta = times[i] if last_delta is None or times[i] > last_delta else last_delta
        verdicts[i] = Verdict(event.event_id, Outcome.applied)

    reported = max(
        (t for e, t in zip(events, times, strict=True) if e.type not in ENGINE_WRITTEN),
        default=None,
    )
    if state.reported_us is not None and (reported is None or state.reported_us > reported):
        reported = state.reported_us
    return Ledgered(on_hand, count_us, count_id, last_delta, reported), verdicts  # type: ignore[return-value]
