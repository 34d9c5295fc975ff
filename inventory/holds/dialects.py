"""The hold path's SQL, once per driver (sqlite3 or psycopg): look up, take and record a group.

Each step is one statement whatever the group's size (over arrays on PostgreSQL), since the
ORM's per-statement cost was most of a group's time. How a group is decided with these lives in
inventory.holds.decide.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from inventory.holds.outcome import Key
from inventory.holds.plan import Positions, Standing
from inventory.sql import functions

Total = tuple[Key, int]  # a position and the units to take there
_FREE = "on_hand - reserved - safety"
_TAKE = (
    "UPDATE position SET reserved = reserved + {q}, version = version + 1"
    f" WHERE location = {{l}} AND sku = {{s}} AND {_FREE} >= {{q}}"
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
        self.take = _TAKE.format(q=p, l=p, s=p)
        self.insert_reservation = _INSERT_RESERVATION.format(p=p)
        self.insert_line = _INSERT_LINE.format(p=p)
        self.recorded = _RECORDED.format(p=p)
        self.position = _POSITION.format(p=p)
        self.recorded_lines = _RECORDED_LINES.format(p=p)

    def begin(self, conn: Any) -> None:
        """PostgreSQL's driver opens the transaction with the first statement."""

    def lookup(self, conn: Any, ids: list[str], keys: list[Key]) -> tuple[set[str], Positions]:
        """The ids of `ids` already recorded, and the positions of `keys` as they stand, locked
        for the rest of the transaction."""
        raise NotImplementedError

    def write(
        self, conn: Any, totals: list[Total], reservations: list, lines: list
    ) -> tuple[list[tuple | None], int]:
        """Take `totals` by conditional updates (each position's units, where it has as many
        free) and insert the reservations and their lines, each unless its key exists.
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

    def lookup(self, conn: Any, ids: list[str], keys: list[Key]) -> tuple[set[str], Positions]:
        marks = ",".join("?" * len(ids))
        known = {
            row[0] for row in conn.execute(f"SELECT id FROM reservation WHERE id IN ({marks})", ids)
        }
        if not keys:
            return known, {}
        pairs = ",".join(["(?,?)"] * len(keys))
        rows = conn.execute(
            "SELECT location, sku, on_hand, reserved, safety FROM position"
            f" WHERE (location, sku) IN (VALUES {pairs})",
            [part for key in keys for part in key],
        )
        return known, {(loc, sku): Standing(*values) for loc, sku, *values in rows}

    def write(self, conn: Any, totals: list[Total], reservations: list, lines: list):
        take = self.take
        rows = [
            conn.execute(take, (q, loc, sku, q)).fetchone() for (loc, sku), q in totals
        ]
        inserted = conn.executemany(self.insert_reservation, reservations).rowcount
        conn.executemany(self.insert_line, lines)
        return rows, inserted


class Postgres(Dialect):
    """Rows locked `FOR UPDATE` in key order. Each step is one statement over arrays (unnest), so a
    group costs the same round trips whatever its size: write and commit as proposed, or look up,
    write and commit the locked way."""

    _LOOKUP = (
        "WITH locked AS (SELECT p.location, p.sku, p.on_hand, p.reserved, p.safety"
        " FROM position p JOIN unnest(%s::text[], %s::text[]) AS k(l, s)"
        " ON p.location = k.l AND p.sku = k.s ORDER BY p.location, p.sku FOR UPDATE OF p)"
        " SELECT location, sku, on_hand, reserved, safety FROM locked"
        " UNION ALL SELECT id, NULL, NULL, NULL, NULL FROM reservation WHERE id = ANY(%s)"
    )  # a row without a sku is a reservation id already recorded
    _TAKE_AND_RECORD = (  # the common table expressions of both writes below
        "WITH taken AS (UPDATE position p"
        " SET reserved = p.reserved + k.q, version = p.version + 1"
        " FROM unnest(%s::text[], %s::text[], %s::int[]) AS k(l, s, q)"
        " WHERE p.location = k.l AND p.sku = k.s AND p.on_hand - p.reserved - p.safety >= k.q"
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

    # A proposed group as one statement that writes all or nothing: the writes of _WRITE, then a
    # guard that raises (inventory.sql.functions.GROUP_NOT_WHOLE) unless every position gave and
    # every reservation was inserted. The statement is its own transaction, so the raise undoes
    # all of it; the caller then decides the group the locked way.
    _WRITE_WHOLE = (
        _TAKE_AND_RECORD + " SELECT guard.whole, taken.* FROM (SELECT CASE WHEN"
        " (SELECT count(*) FROM taken) = %s AND (SELECT count(*) FROM held) = %s"
        f" THEN true ELSE {functions.GROUP_NOT_WHOLE_CALL} END AS whole) AS guard"
        " LEFT JOIN taken ON true"
    )

    def __init__(self) -> None:
        super().__init__("%s")

    def lookup(self, conn: Any, ids: list[str], keys: list[Key]) -> tuple[set[str], Positions]:
        known: set[str] = set()
        positions: Positions = {}
        columns = ([loc for loc, _ in keys], [sku for _, sku in keys], ids)
        for first, sku, *values in conn.execute(self._LOOKUP, columns):
            if sku is None:
                known.add(first)
            else:
                positions[(first, sku)] = Standing(*values)
        return known, positions

    def write(self, conn: Any, totals: list[Total], reservations: list, lines: list):
        columns = self._columns(totals, reservations, lines)
        inserted, taken = 0, {}
        for row in conn.execute(self._WRITE, columns):
            inserted, taken[(row[1], row[2])] = row[0], row[3:]
        return [taken.get(key) for key, _ in totals], inserted

    def write_at_once(
        self, conn: Any, totals: list[Total], reservations: list, lines: list
    ) -> list[tuple] | None:
        """One statement in its own transaction (autocommit): one round trip. Its guard raises
        when the group is not whole (_WRITE_WHOLE), so it commits all of the group or none of it."""
        columns = (*self._columns(totals, reservations, lines), len(totals), len(reservations))
        conn.autocommit = True
        try:
            rows = conn.execute(self._WRITE_WHOLE, columns).fetchall()
        except Exception as error:
            if not functions.group_not_whole(error):
                raise
            return None
        finally:
            conn.autocommit = False
        taken = {(row[1], row[2]): row[3:] for row in rows}
        return [taken[key] for key, _ in totals]

    @staticmethod
    def _columns(totals: list[Total], reservations: list, lines: list) -> tuple:
        return (
            [loc for (loc, _), _ in totals],
            [sku for (_, sku), _ in totals],
            [units for _, units in totals],
            *map(list, zip(*reservations, strict=True)),
            *map(list, zip(*lines, strict=True)),
        )


def dialect_of(engine: Engine) -> Dialect:
    if engine.dialect.name == "sqlite":
        return SQLite()
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return Postgres()
    raise ValueError(f"no hold statements for {engine.dialect.name}+{engine.dialect.driver}")
