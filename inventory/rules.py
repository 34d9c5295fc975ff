"""How stock events move a position: the count rule, staleness and replay. Pure functions.

The resulting position depends only on the *set* of events, never on their arrival order:
on_hand = the latest count (by occurred_at, then event_id) + every delta that occurred after it;
without any count, the sum of all deltas. A delta at or before the latest count is inside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from inventory.model import StockEvent


class Outcome(StrEnum):
    applied = "applied"  # moved on_hand (or set it, for a count)
    stale = "stale"  # already inside a count: recorded, changes nothing
    duplicate = "duplicate"  # event_id seen before: the first result stands
    rejected = "rejected"  # invalid: not recorded


@dataclass(frozen=True, slots=True)
class Ledgered:
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(dt: datetime) -> int:
    """Exact microseconds since the epoch; a naive time is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MICRO


def from_micros(us: int) -> datetime:
    return _EPOCH + us * _MICRO


def micros(event: StockEvent) -> int:
    return to_micros(event.occurred_at)


def earliest_new_count_us(state: Ledgered, events: Iterable[StockEvent]) -> int | None:
    """The earliest count in `events` that could replace the current one, or None.

    The caller needs the stored deltas after this time only when they may exist, i.e. when
    state.last_delta_us is later.
    """
    times = [
        micros(e) for e in events if e.is_count and not state.counted_after(micros(e), e.event_id)
    ]
    return min(times) if times else None


def fold(
    state: Ledgered, events: Sequence[StockEvent], stored_deltas: Sequence[tuple[int, int]] = ()
) -> tuple[Ledgered, list[Verdict]]:
    """Apply new, distinct, valid events of one position to its state.

    `stored_deltas` holds (occurred_us, delta) of the deltas already in the ledger that occurred
    after `earliest_new_count_us(state, events)`; a new count must add them back on top of itself.
    """
    verdicts: dict[str, Verdict] = {}
    best: StockEvent | None = None
    best_key: tuple[int, str] | None = None
    for event in events:
        if not event.is_count:
            continue
        key = (micros(event), event.event_id)
        if state.counted_after(*key):
            verdicts[event.event_id] = Verdict(
                event.event_id, Outcome.stale, "older than the count already applied"
            )
        elif best_key is None or key > best_key:
            if best is not None:
                verdicts[best.event_id] = Verdict(
                    best.event_id, Outcome.stale, "superseded by a later count"
                )
            best, best_key = event, key
        else:
            verdicts[event.event_id] = Verdict(
                event.event_id, Outcome.stale, "superseded by a later count"
            )

    if best is not None and best_key is not None:
        count_us = best_key[0]
        carried = sum(d for t, d in stored_deltas if t > count_us)
        state = replace(
            state, on_hand=best.quantity + carried, count_us=count_us, count_id=best.event_id
        )
        verdicts[best.event_id] = Verdict(best.event_id, Outcome.applied)

    on_hand, last_delta = state.on_hand, state.last_delta_us
    for event in events:
        if event.is_count:
            continue
        t = micros(event)
        if state.count_us is not None and t <= state.count_us:
            verdicts[event.event_id] = Verdict(
                event.event_id, Outcome.stale, "occurred before the latest count, which includes it"
            )
            continue
        on_hand += event.delta
        last_delta = t if last_delta is None else max(last_delta, t)
        verdicts[event.event_id] = Verdict(event.event_id, Outcome.applied)

    reported = max((micros(e) for e in events), default=None)
    if state.reported_us is not None and reported is not None:
        reported = max(reported, state.reported_us)
    state = replace(
        state, on_hand=on_hand, last_delta_us=last_delta, reported_us=reported or state.reported_us
    )
    return state, [verdicts[e.event_id] for e in events]
