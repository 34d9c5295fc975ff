"""Deciding a group of holds on the bare driver (sqlite3 or psycopg): the hot path's few statements.

Two ways to decide, one consistency mechanism: a unit is only ever taken by the conditional write
`UPDATE position SET reserved = reserved + q WHERE on_hand - reserved - safety >= q`, at
positions SQL has decided on.
- As proposed: when every hold of the group fits the positions the projection showed
  (inventory.holds.plan.decide_group on them), every take is at a plain position (one that offers
  all its free units: no channel fence, no vendor's confidence, so `free >= q` is exactly the
  hold's terms) and no line is bound by the network threshold (which spans more positions than
  the group writes to), the group is written at once, all of it or nothing
  (inventory.holds.dialects); if a position gave less or an id was already recorded, the group
  is decided the locked way. On PostgreSQL that write is one statement in its own transaction:
  one round trip. A projection that is behind therefore costs time, never stock. Refusals are
  never made this way.
- Locked: the positions are locked in key order (`FOR UPDATE`; SQLite has one writer), replays
  answer from the record, the others are decided in arrival order on the locked positions' own
  values (fences and vendor confidence are shares of their stock, not of what is free).
The ORM's per-statement cost was most of a group's time, so each step is one statement (over
arrays on PostgreSQL), whatever the group's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from inventory.domain.projected import Projected
from inventory.holds.dialects import Dialect, Held, Total
from inventory.holds.expiry import DEFAULT_CART_TTL_S, expires_us
from inventory.holds.outcome import Changes, HoldOutcome, HoldStatus, Key, ReservationConflict
from inventory.holds.plan import Plan, Standing, decide_group, plain
from inventory.holds.request import HoldRequest, Take


def decide(
    conn: Any,
    dialect: Dialect,
    items: Sequence[tuple[HoldRequest, Plan]],
    now_us: int,
    changes: Changes,
    proposed: Mapping[Key, Projected] | None = None,
    cart_ttl_s: int = DEFAULT_CART_TTL_S,
    begun: bool = False,
) -> list[HoldOutcome]:
    """Decide a group of holds in one transaction: as `proposed` (the positions as the
    projection shows them) when SQL agrees, otherwise the locked way. A cart hold that names no TTL is
    held for `cart_ttl_s`. `begun`: the caller's transaction is open already (an order's)."""
    ids = [request.id for request, _ in items]
    if len(set(ids)) != len(ids):
        raise ReservationConflict("the same reservation id twice in one group")
    # The network threshold spans locations, more than the positions a proposal writes to: a
    # group bound by it is decided on locked rows.
    bound = any(plan.keep(i) for _, plan in items for i in range(len(plan.lines)))
    if proposed is not None and not bound:
        decisions = decide_group(
            items, {key: Standing.of(value) for key, value in proposed.items()}
        )
        if not any(isinstance(d, str) for d in decisions) and plain(items, decisions):
            held = [(request, takes) for (request, _), takes in zip(items, decisions, strict=True)]
            ordered, reservations, lines, parts = _statement_rows(held, now_us, cart_ttl_s)
            rows = dialect.write_at_once(conn, ordered, reservations, lines, parts)
            if rows is not None:
                _record(changes, ordered, rows)
                return [
                    HoldOutcome(r.id, HoldStatus.held, t, "", expires_us(r, now_us, cart_ttl_s))
                    for r, t in held
                ]
    return _decide_locked(conn, dialect, items, now_us, changes, cart_ttl_s, begun)


def _decide_locked(
    conn: Any,
    dialect: Dialect,
    items: Sequence[tuple[HoldRequest, Plan]],
    now_us: int,
    changes: Changes,
    cart_ttl_s: int,
    begun: bool = False,
) -> list[HoldOutcome]:
    """Replays answer from the record; the others are decided in arrival order against the
    positions they may take from, locked for the transaction."""
    keys = sorted(
        {
            (loc, line.sku)
            for request, plan in items
            for i, line in enumerate(request.lines)
            for loc in plan.lines[i]
        }
    )
    fenced = sorted(  # where fences or a vendor's confidence count what each channel holds
        {
            (loc, line.sku)
            for request, plan in items
            for i, line in enumerate(request.lines)
            for loc in plan.lines[i]
            if not plan.plain(loc)
        }
    )
    if not begun:
        dialect.begin(conn)
    known, positions = dialect.lookup(conn, [r.id for r, _ in items], keys, fenced)
    replays = {
        request.id: recorded(conn, dialect, request, changes)
        for request, _ in items
        if request.id in known
    }
    fresh = [(request, plan) for request, plan in items if request.id not in known]
    decisions = dict(
        zip((request.id for request, _ in fresh), decide_group(fresh, positions), strict=True)
    )
    held = [
        (request, takes)
        for request, _ in fresh
        if not isinstance(takes := decisions[request.id], str)
    ]
    if held and not _write(conn, dialect, held, now_us, changes, cart_ttl_s):
        raise AssertionError("a locked position gave less than decided")  # rolls the group back
    outcomes = []
    for request, _ in items:
        decision = decisions.get(request.id)
        if request.id in replays:
            outcomes.append(replays[request.id])
        elif isinstance(decision, str):
            outcomes.append(HoldOutcome(request.id, HoldStatus.refused, (), decision))
        else:
            due_us = expires_us(request, now_us, cart_ttl_s)
            outcomes.append(HoldOutcome(request.id, HoldStatus.held, decision, "", due_us))
    return outcomes


def _write(
    conn: Any,
    dialect: Dialect,
    held: list[tuple[HoldRequest, tuple[Take, ...]]],
    now_us: int,
    changes: Changes,
    cart_ttl_s: int,
) -> bool:
    """Record the held reservations and take their units; False if a position gave less than its
    total or a reservation id was already recorded (the caller rolls back)."""
    ordered, reservations, lines, parts = _statement_rows(held, now_us, cart_ttl_s)
    rows, inserted = dialect.write(conn, ordered, reservations, lines, parts)
    if inserted != len(reservations) or any(row is None for row in rows):
        return False
    _record(changes, ordered, rows)  # type: ignore[arg-type]
    return True


def _statement_rows(
    held: list[tuple[HoldRequest, tuple[Take, ...]]], now_us: int, cart_ttl_s: int
) -> tuple[list[Total], list[tuple], list[tuple], list[Held]]:
    """The units to take per position (in key order), the reservation rows, the line rows, and
    each channel's part of the units per position (in key order)."""
    totals: dict[Key, int] = defaultdict(int)
    parts: dict[tuple[str, str, str], int] = defaultdict(int)
    for request, takes in held:
        for take in takes:
            totals[(take.location, take.sku)] += take.quantity
            parts[(take.location, take.sku, request.channel)] += take.quantity
    reservations = [
        (
            request.id,
            request.channel,
            request.digest(),
            now_us,
            expires_us(request, now_us, cart_ttl_s),
        )
        for request, _ in held
    ]
    lines = [
        (request.id, t.line, t.location, t.sku, t.quantity)
        for request, takes in held
        for t in takes
    ]
    held_rows = [(*key, units) for key, units in sorted(parts.items())]
    return sorted(totals.items()), reservations, lines, held_rows


def _record(changes: Changes, ordered: list[Total], rows: list[tuple]) -> None:
    for (key, _), row in zip(ordered, rows, strict=True):
        changes.positions[key] = Projected.of(*row)


def recorded(
    conn: Any, dialect: Dialect, request: HoldRequest, changes: Changes | None = None
) -> HoldOutcome | None:
    """The first result of a request already recorded, or None; other content under its id is
    refused. The positions it took go into `changes` as they stand, so a replay projects them
    again: the first attempt may have committed and then failed to reach the projection."""
    row = conn.execute(dialect.recorded, (request.id,)).fetchone()
    if row is None:
        return None
    status, digest, due_us = row
    if digest != request.digest():
        raise ReservationConflict(f"reservation {request.id!r} exists with other content")
    rows = conn.execute(dialect.recorded_lines, (request.id,)).fetchall()
    takes = tuple(Take(line, loc, sku, quantity) for line, loc, sku, quantity in rows)
    if changes is not None:
        for key in sorted({(take.location, take.sku) for take in takes}):
            row = conn.execute(dialect.position, key).fetchone()
            if row is not None and key not in changes.positions:
                held = dialect.held_by_channel(conn, key)
                changes.positions[key] = Projected.of(*row, by_channel=held)
    return HoldOutcome(request.id, HoldStatus(status), takes, "", due_us, replayed=True)
