"""Deciding a group of holds on the bare driver (sqlite3 or psycopg): the hot path's few statements.

Two ways to decide, one consistency mechanism: a unit is only ever taken by the conditional write
`UPDATE position SET reserved = reserved + q WHERE on_hand - reserved - safety >= need`, where
`need` (at least q) is the fewest free units on which the holds' terms (channel fences, a vendor's
confidence) still let them take q there (inventory.holds.needs).
- As proposed: when every hold of the group fits the free units the projection showed
  (inventory.holds.decide_group on them) and no line is bound by the network threshold (which
  spans more positions than the group writes to), the group is written at once by conditional
  updates and
  `INSERT ... ON CONFLICT DO NOTHING`; if a position gave less or an id was already recorded,
  nothing of it stays written and the group is decided the locked way. On PostgreSQL that write
  is one statement in its own transaction: one round trip. A projection that is behind
  therefore costs time, never stock. Refusals are never made this way.
- Locked: the positions are locked in key order (`FOR UPDATE`; SQLite has one writer), replays
  answer from the record, the others are decided in arrival order against the locked free units.
The ORM's per-statement cost was most of a group's time, so each step is one statement (over
arrays on PostgreSQL), whatever the group's size.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from psycopg.errors import DivisionByZero
from sqlalchemy import Engine

from inventory.holds import HoldRequest, Plan, Take, decide_group, needs
from inventory.projection import Projected
from inventory.reservations import Changes, HoldOutcome, Key, ReservationConflict

TRANSACTION_ATTEMPTS = 5
WRITER_APPLICATION_NAME = "dom-hold-writer"
RETRY_PAUSE_S = 0.005
T = TypeVar("T")
Total = tuple[Key, int, int]  # a position, the units to take there, the free units it must have

_FREE = "on_hand - reserved - safety"
_TAKE = (
    "UPDATE position SET reserved = reserved + {q}, version = version + 1"
    f" WHERE location = {{l}} AND sku = {{s}} AND {_FREE} >= {{need}}"
    " RETURNING version, on_hand, reserved, safety, reported_us"
)
_INSERT_RESERVATION = (
    "INSERT INTO reservation (id, status, channel, request_hash, created_us, expires_us)"
    " VALUES ({p}, 'held', {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING"
)
_INSERT_LINE = (
    "INSERT INTO reservation_line (reservation_id, line, location, sku, quantity)"
    " VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING"
)
_RECORDED = "SELECT status, request_hash, expires_us FROM reservation WHERE id = {p}"
_POSITION = (
    "SELECT version, on_hand, reserved, safety, reported_us FROM position"
    " WHERE location = {p} AND sku = {p}"
)
_RECORDED_LINES = (
    "SELECT line, location, sku, quantity FROM reservation_line"
    " WHERE reservation_id = {p} ORDER BY line, location"
)


class Dialect:
    """The statements of one driver; `p` is its parameter marker."""

    def __init__(self, p: str) -> None:
        self.p = p
        self.take = _TAKE.format(q=p, l=p, s=p, need=p)
        self.insert_reservation = _INSERT_RESERVATION.format(p=p)
        self.insert_line = _INSERT_LINE.format(p=p)
        self.recorded = _RECORDED.format(p=p)
        self.position = _POSITION.format(p=p)
        self.recorded_lines = _RECORDED_LINES.format(p=p)

    def begin(self, conn: Any) -> None:
        """PostgreSQL's driver opens the transaction with the first statement."""

    def lookup(self, conn: Any, ids: list[str], keys: list[Key]) -> tuple[set[str], dict[Key, int]]:
        raise NotImplementedError

    def write(
        self, conn: Any, totals: list[Total], reservations: list, lines: list
    ) -> tuple[list[tuple | None], int]:
        """Take `totals` by conditional updates (each position's units, where it has at least
        `need` free) and insert the reservations and their lines, each unless its key exists.
        Returns the updated row per total (None: the position had less) and how many
        reservations were inserted."""
        raise NotImplementedError

    def write_at_once(
        self, conn: Any, totals: list[Total], reservations: list, lines: list
    ) -> list[tuple] | None:
        """`write` a proposed group, all of it or nothing: the updated row per total, or None
        when a position gave less or a reservation id was recorded already (nothing is left
        written). The caller commits."""
        self.begin(conn)
        rows, inserted = self.write(conn, totals, reservations, lines)
        if inserted == len(reservations) and all(row is not None for row in rows):
            return rows  # type: ignore[return-value]
        conn.rollback()
        return None


class SQLite(Dialect):
    """One writer at a time (BEGIN IMMEDIATE), so the lock is the transaction itself."""

    def __init__(self) -> None:
        super().__init__("?")

    def begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def lookup(self, conn: Any, ids: list[str], keys: list[Key]) -> tuple[set[str], dict[Key, int]]:
        marks = ",".join("?" * len(ids))
        known = {
            row[0] for row in conn.execute(f"SELECT id FROM reservation WHERE id IN ({marks})", ids)
        }
        if not keys:
            return known, {}
        pairs = ",".join(["(?,?)"] * len(keys))
        rows = conn.execute(
            f"SELECT location, sku, {_FREE} FROM position WHERE (location, sku) IN (VALUES {pairs})",
            [part for key in keys for part in key],
        )
        return known, {(loc, sku): max(0, free) for loc, sku, free in rows}

    def write(self, conn: Any, totals: list[Total], reservations: list, lines: list):
        take = self.take
        rows = [
            conn.execute(take, (q, loc, sku, need)).fetchone() for (loc, sku), q, need in totals
        ]
        inserted = conn.executemany(self.insert_reservation, reservations).rowcount
        conn.executemany(self.insert_line, lines)
        return rows, inserted


class Postgres(Dialect):
    """Rows locked `FOR UPDATE` in key order. Each step is one statement over arrays (unnest), so a
    group costs the same round trips whatever its size: write and commit as proposed, or look up,
    write and commit the locked way."""

    _LOOKUP = (
        "WITH locked AS (SELECT p.location, p.sku, p.on_hand - p.reserved - p.safety AS free"
        " FROM position p JOIN unnest(%s::text[], %s::text[]) AS k(l, s)"
        " ON p.location = k.l AND p.sku = k.s ORDER BY p.location, p.sku FOR UPDATE OF p)"
        " SELECT location, sku, free FROM locked"
        " UNION ALL SELECT id, NULL, NULL FROM reservation WHERE id = ANY(%s)"
    )  # a row without a sku is a reservation id already recorded
    _TAKE_AND_RECORD = (  # the common table expressions of both writes below
        "WITH taken AS (UPDATE position p"
        " SET reserved = p.reserved + k.q, version = p.version + 1"
        " FROM unnest(%s::text[], %s::text[], %s::int[], %s::int[]) AS k(l, s, q, need)"
        " WHERE p.location = k.l AND p.sku = k.s AND p.on_hand - p.reserved - p.safety >= k.need"
        " RETURNING p.location, p.sku, p.version, p.on_hand, p.reserved, p.safety, p.reported_us),"
        " held AS (INSERT INTO reservation (id, status, channel, request_hash, created_us, expires_us)"
        " SELECT r.id, 'held', r.channel, r.digest, r.created, r.expires"
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[])"
        " AS r(id, channel, digest, created, expires) ON CONFLICT DO NOTHING RETURNING id),"
        " lines AS (INSERT INTO reservation_line (reservation_id, line, location, sku, quantity)"
        " SELECT * FROM unnest(%s::text[], %s::int[], %s::text[], %s::text[], %s::int[])"
        " ON CONFLICT DO NOTHING)"
    )
    _WRITE = _TAKE_AND_RECORD + " SELECT (SELECT count(*) FROM held), taken.* FROM taken"
    # no row at all when no position gave: then nothing is decided either way
    # The same statement as its own transaction (autocommit): one round trip instead of three
    # (the driver's BEGIN, the statement, COMMIT). It must then write all or nothing, so it fails,
    # undoing itself, unless every position gave and every reservation was new: the one-row
    # guard divides by zero otherwise. It is selected, so that the planner computes it, and
    # joined to `taken`, so that it is computed even when no position gave.
    _WRITE_AT_ONCE = _TAKE_AND_RECORD + (
        " SELECT guard.whole, taken.* FROM (SELECT 1 / CASE WHEN (SELECT count(*) FROM taken) = %s"
        " AND (SELECT count(*) FROM held) = %s THEN 1 ELSE 0 END AS whole) AS guard"
        " LEFT JOIN taken ON true"
    )

    def __init__(self) -> None:
        super().__init__("%s")

    def lookup(self, conn: Any, ids: list[str], keys: list[Key]) -> tuple[set[str], dict[Key, int]]:
        known: set[str] = set()
        free: dict[Key, int] = {}
        columns = ([loc for loc, _ in keys], [sku for _, sku in keys], ids)
        for first, sku, units in conn.execute(self._LOOKUP, columns):
            if sku is None:
                known.add(first)
            else:
                free[(first, sku)] = max(0, units)
        return known, free

    def write(self, conn: Any, totals: list[Total], reservations: list, lines: list):
        columns = self._columns(totals, reservations, lines)
        inserted, taken = 0, {}
        for row in conn.execute(self._WRITE, columns):
            inserted, taken[(row[1], row[2])] = row[0], row[3:]
        return [taken.get(key) for key, _, _ in totals], inserted

    def write_at_once(
        self, conn: Any, totals: list[Total], reservations: list, lines: list
    ) -> list[tuple] | None:
        columns = (*self._columns(totals, reservations, lines), len(totals), len(reservations))
        conn.autocommit = True
        try:
            rows = conn.execute(self._WRITE_AT_ONCE, columns).fetchall()
        except DivisionByZero:  # the guard: SQL did not agree with the proposal
            return None
        finally:
            conn.autocommit = False
        taken = {(row[1], row[2]): row[3:] for row in rows}
        return [taken[key] for key, _, _ in totals]

    @staticmethod
    def _columns(totals: list[Total], reservations: list, lines: list) -> tuple:
        return (
            [loc for (loc, _), _, _ in totals],
            [sku for (_, sku), _, _ in totals],
            [units for _, units, _ in totals],
            [need for _, _, need in totals],
            *map(list, zip(*reservations, strict=True)),
            *map(list, zip(*lines, strict=True)),
        )


def dialect_of(engine: Engine) -> Dialect:
    if engine.dialect.name == "sqlite":
        return SQLite()
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return Postgres()
    raise ValueError(f"no hold statements for {engine.dialect.name}+{engine.dialect.driver}")


def decide(
    conn: Any,
    dialect: Dialect,
    items: Sequence[tuple[HoldRequest, Plan]],
    now_us: int,
    changes: Changes,
    proposed: Mapping[Key, int] | None = None,
) -> list[HoldOutcome]:
    """Decide a group of holds in one transaction: as `proposed` (free units per position, from
    the projection) when SQL agrees, otherwise the locked way."""
    ids = [request.id for request, _ in items]
    if len(set(ids)) != len(ids):
        raise ReservationConflict("the same reservation id twice in one group")
    # The network threshold spans locations, more than the positions a proposal writes to: a
    # group bound by it is decided on locked rows.
    bound = any(plan.keep(i) for _, plan in items for i in range(len(plan.lines)))
    if proposed is not None and not bound:
        decisions = decide_group(items, dict(proposed))
        if not any(isinstance(decision, str) for decision in decisions):
            held = [(request, takes) for (request, _), takes in zip(items, decisions, strict=True)]
            need = needs(items, decisions, proposed)
            ordered, reservations, lines = _statement_rows(held, now_us, need)
            rows = dialect.write_at_once(conn, ordered, reservations, lines)
            if rows is not None:
                _record(changes, ordered, rows)
                return [HoldOutcome(r.id, "held", t, "", _expiry(r, now_us)) for r, t in held]
    return _decide_locked(conn, dialect, items, now_us, changes)


def _decide_locked(
    conn: Any,
    dialect: Dialect,
    items: Sequence[tuple[HoldRequest, Plan]],
    now_us: int,
    changes: Changes,
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
    dialect.begin(conn)
    known, free = dialect.lookup(conn, [request.id for request, _ in items], keys)
    replays = {
        request.id: recorded(conn, dialect, request, changes)
        for request, _ in items
        if request.id in known
    }
    fresh = [(request, plan) for request, plan in items if request.id not in known]
    decisions = dict(
        zip((request.id for request, _ in fresh), decide_group(fresh, free), strict=True)
    )
    held = [
        (request, takes)
        for request, _ in fresh
        if not isinstance(takes := decisions[request.id], str)
    ]
    if held and not _write(conn, dialect, held, now_us, changes):
        raise AssertionError("a locked position gave less than decided")  # rolls the group back
    outcomes = []
    for request, _ in items:
        decision = decisions.get(request.id)
        if request.id in replays:
            outcomes.append(replays[request.id])
        elif isinstance(decision, str):
            outcomes.append(HoldOutcome(request.id, "refused", (), decision))
        else:
            outcomes.append(HoldOutcome(request.id, "held", decision, "", _expiry(request, now_us)))
    return outcomes


def _write(
    conn: Any,
    dialect: Dialect,
    held: list[tuple[HoldRequest, tuple[Take, ...]]],
    now_us: int,
    changes: Changes,
) -> bool:
    """Record the held reservations and take their units; False if a position gave less than its
    total or a reservation id was already recorded (the caller rolls back)."""
    ordered, reservations, lines = _statement_rows(held, now_us)
    rows, inserted = dialect.write(conn, ordered, reservations, lines)
    if inserted != len(reservations) or any(row is None for row in rows):
        return False
    _record(changes, ordered, rows)  # type: ignore[arg-type]
    return True


def _statement_rows(
    held: list[tuple[HoldRequest, tuple[Take, ...]]],
    now_us: int,
    need: Mapping[Key, int] | None = None,
) -> tuple[list[Total], list[tuple], list[tuple]]:
    """The units to take per position (in key order) with the free units it must have (`need`,
    else the units themselves: the locked way decides on free units as they stand), the
    reservation rows and the line rows."""
    totals: dict[Key, int] = defaultdict(int)
    for _, takes in held:
        for take in takes:
            totals[(take.location, take.sku)] += take.quantity
    reservations = [
        (request.id, request.channel, request.digest(), now_us, _expiry(request, now_us))
        for request, _ in held
    ]
    lines = [
        (request.id, t.line, t.location, t.sku, t.quantity)
        for request, takes in held
        for t in takes
    ]
    ordered = [(key, units, need[key] if need else units) for key, units in sorted(totals.items())]
    return ordered, reservations, lines


def _record(changes: Changes, ordered: list[Total], rows: list[tuple]) -> None:
    for (key, _, _), row in zip(ordered, rows, strict=True):
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
    status, digest, expires_us = row
    if digest != request.digest():
        raise ReservationConflict(f"reservation {request.id!r} exists with other content")
    rows = conn.execute(dialect.recorded_lines, (request.id,)).fetchall()
    takes = tuple(Take(line, loc, sku, quantity) for line, loc, sku, quantity in rows)
    if changes is not None:
        for key in sorted({(take.location, take.sku) for take in takes}):
            row = conn.execute(dialect.position, key).fetchone()
            if row is not None and key not in changes.positions:
                changes.positions[key] = Projected.of(*row)
    return HoldOutcome(request.id, status, takes, "", expires_us, replayed=True)


def _expiry(request: HoldRequest, now_us: int) -> int | None:
    return now_us + request.ttl_s * 1_000_000 if request.ttl_s else None


class Connections:
    """Where a transaction gets its driver connection: from the pool each time, or, for a thread
    that writes all day (the hold writer), one connection kept between transactions, since a pool
    checkout and its reset cost as much as a group's statements."""

    def __init__(self, engine: Engine, keep: bool = False) -> None:
        self.engine = engine
        self.keep = keep
        self._kept: Any = None

    def checkout(self) -> Any:
        if not self.keep:
            return self.engine.raw_connection()
        if self._kept is None:
            self._kept = self.engine.raw_connection()
            if self.engine.dialect.name == "postgresql":  # so pg_stat_activity tells it apart
                conn = self._kept.driver_connection
                conn.execute(f"SET application_name = '{WRITER_APPLICATION_NAME}'")
                conn.commit()
        return self._kept

    def checkin(self, pooled: Any, broken: bool = False) -> None:
        if broken:  # the connection is gone: the pool must not hand it out again
            pooled.invalidate()
            if pooled is self._kept:
                self._kept = None
        if not self.keep or broken:
            pooled.close()

    def close(self) -> None:
        """Give the kept connection back to the pool."""
        if self._kept is not None:
            if self.engine.dialect.name == "postgresql":
                try:  # back to the pool as any other connection
                    self._kept.driver_connection.execute("RESET application_name")
                    self._kept.driver_connection.commit()
                except Exception:
                    self._kept.invalidate()
            self._kept.close()
            self._kept = None


def transaction(engine: Engine | Connections, work: Callable[[Any], T]) -> T:
    """Run `work` on a driver connection and commit; retried when a concurrent writer or a
    dropped connection makes it fail (a commit whose answer was lost comes back as a replay)."""
    connections = engine if isinstance(engine, Connections) else Connections(engine)
    for attempt in range(TRANSACTION_ATTEMPTS):
        pooled = connections.checkout()
        broken = False
        try:
            conn = pooled.driver_connection
            result = work(conn)
            conn.commit()
            return result
        except Exception as error:
            retry = attempt < TRANSACTION_ATTEMPTS - 1 and _retryable(error)
            try:
                pooled.driver_connection.rollback()
            except Exception:
                broken = True
            if not retry:
                raise
        finally:
            connections.checkin(pooled, broken)
        time.sleep(RETRY_PAUSE_S * (attempt + 1))
    raise AssertionError("unreachable")


def _retryable(error: Exception) -> bool:
    """Deadlocks, serialization failures, a busy SQLite file, a connection the server dropped."""
    if getattr(error, "sqlstate", None) in {"40001", "40P01"}:
        return True
    if any(cls.__name__ == "OperationalError" for cls in type(error).__mro__):
        # sqlite3's, or psycopg's and its subclasses (AdminShutdown, ...): a connection lost,
        # the server shutting down or restarting, or a busy SQLite file
        state = getattr(error, "sqlstate", "")
        lost = state is None or state.startswith(("08", "57P"))
        return lost or "locked" in str(error)
    return False
