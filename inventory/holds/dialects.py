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
Held = tuple[
    str, str, str, int
]  # location, sku, channel: that channel's part of a position's total
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
_CHANNELS = "SELECT channel, reserved FROM position_channel WHERE location = {p} AND sku = {p}"
_ADD_TO_CHANNEL = (
    "INSERT INTO position_channel (location, sku, channel, reserved) VALUES ({p}, {p}, {p}, {p})"
    " ON CONFLICT (location, sku, channel)"
    " DO UPDATE SET reserved = position_channel.reserved + excluded.reserved RETURNING reserved"
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
        self.channels = _CHANNELS.format(p=p)
        self.add_to_channel = _ADD_TO_CHANNEL.format(p=p)

    def begin(self, conn: Any) -> None:
        """PostgreSQL's driver opens the transaction with the first statement."""

    def lookup(
        self, conn: Any, ids: list[str], keys: list[Key], by_channel: list[Key] = ()
    ) -> tuple[set[str], Positions]:
        """The ids of `ids` already recorded, and the positions of `keys` as they stand, locked
        for the rest of the transaction; for those of `by_channel`, what each channel holds
        there too."""
        raise NotImplementedError

    def held_by_channel(self, conn: Any, key: Key) -> dict[str, int]:
        """What each channel holds at one position."""
        return dict(conn.execute(self.channels, key).fetchall())

    def write(
        self, conn: Any, totals: list[Total], reservations: list, lines: list, held: list[Held]
    ) -> tuple[list[tuple | None], int]:
        """Take `totals` by conditional updates (each position's units, where it has as many
        free), add `held` to each channel's part there, and insert the reservations and their
        lines, each unless its key exists. Returns the updated row per total (None: the
        position had less), the channels' parts it changed appended, and how many reservations
        were inserted."""
        raise NotImplementedError

    def write_at_once(
        self, conn: Any, totals: list[Total], reservations: list, lines: list, held: list[Held]
    ) -> list[tuple] | None:
        """`write` a proposed group, all of it or nothing: the updated row per total, or None
        when a position gave less or a reservation id was recorded already (nothing is left
        written). The caller commits."""
        self.begin(conn)
        rows, inserted = self.write(conn, totals, reservations, lines, held)
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

    def lookup(
        self, conn: Any, ids: list[str], keys: list[Key], by_channel: list[Key] = ()
    ) -> tuple[set[str], Positions]:
        marks = ",".join("?" * len(ids))
        known = {
            row[0] for row in conn.execute(f"SELECT id FROM reservation WHERE id IN ({marks})", ids)
        }
        if not keys:
            return known, {}
        pairs = ",".join(["(?,?)"] * len(keys))
        # A join from the keys, not `(location, sku) IN (VALUES ...)`: SQLite scans the whole
        # table for a row-value IN list, and searches the primary key for each joined key.
        rows = conn.execute(
            "SELECT p.location, p.sku, p.on_hand, p.reserved, p.safety"
            f" FROM (VALUES {pairs}) AS k JOIN position p"
            " ON p.location = k.column1 AND p.sku = k.column2",
            [part for key in keys for part in key],
        )
        positions = {(loc, sku): Standing(*values) for loc, sku, *values in rows}
        for key in by_channel:
            if key in positions:
                positions[key].by_channel = self.held_by_channel(conn, key)
        return known, positions

    def write(
        self, conn: Any, totals: list[Total], reservations: list, lines: list, held: list[Held]
    ):
        take = self.take
        rows = [conn.execute(take, (q, loc, sku, q)).fetchone() for (loc, sku), q in totals]
        inserted = conn.executemany(self.insert_reservation, reservations).rowcount
        conn.executemany(self.insert_line, lines)
        parts: dict[Key, dict[str, int]] = {}
        for row in held:
            [(units,)] = conn.execute(self.add_to_channel, row).fetchall()
            parts.setdefault((row[0], row[1]), {})[row[2]] = units
        return [
            None if row is None else (*row, parts.get(key, {}))
            for row, (key, _) in zip(rows, totals, strict=True)
        ], inserted


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
    # Read in a statement of its own, after the positions are locked: read in the same one, the
    # channels' rows would be as of that statement's start, before the commit it waited for.
    _CHANNELS_OF = (
        "SELECT c.location, c.sku, c.channel, c.reserved FROM position_channel c"
        " JOIN unnest(%s::text[], %s::text[]) AS k(l, s) ON c.location = k.l AND c.sku = k.s"
    )
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
        " ON CONFLICT DO NOTHING),"
        # Each channel's part, at the positions that gave only: reading `taken` makes each
        # position's row lock come first, as in every other write of a channel's part.
        " parts AS (INSERT INTO position_channel (location, sku, channel, reserved)"
        " SELECT c.l, c.s, c.c, c.q FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[])"
        " AS c(l, s, c, q) JOIN taken ON taken.location = c.l AND taken.sku = c.s"
        " ON CONFLICT (location, sku, channel)"
        " DO UPDATE SET reserved = position_channel.reserved + excluded.reserved"
        " RETURNING location, sku, channel, reserved)"
    )
    _PARTS = (  # rows with a channel: a channel's part as it now stands
        " UNION ALL SELECT NULL, location, sku, channel, NULL, NULL, reserved, NULL, NULL"
        " FROM parts"
    )
    _WRITE = (
        _TAKE_AND_RECORD + " SELECT (SELECT count(*) FROM held), taken.location, taken.sku,"
        " NULL::text, taken.version, taken.on_hand, taken.reserved, taken.safety,"
        " taken.reported_us FROM taken" + _PARTS
    )  # no row at all when no position gave: then nothing is decided either way

    # A proposed group as one statement that writes all or nothing: the writes of _WRITE, then a
    # guard that raises (inventory.sql.functions.GROUP_NOT_WHOLE) unless every position gave and
    # every reservation was inserted. The statement is its own transaction, so the raise undoes
    # all of it; the caller then decides the group the locked way.
    _WRITE_WHOLE = (
        _TAKE_AND_RECORD + " SELECT guard.whole::int, taken.location, taken.sku, NULL::text,"
        " taken.version, taken.on_hand, taken.reserved, taken.safety, taken.reported_us"
        " FROM (SELECT CASE WHEN"
        " (SELECT count(*) FROM taken) = %s AND (SELECT count(*) FROM held) = %s"
        f" THEN true ELSE {functions.GROUP_NOT_WHOLE_CALL} END AS whole) AS guard"
        " LEFT JOIN taken ON true" + _PARTS
    )

    def __init__(self) -> None:
        super().__init__("%s")

    def lookup(
        self, conn: Any, ids: list[str], keys: list[Key], by_channel: list[Key] = ()
    ) -> tuple[set[str], Positions]:
        known: set[str] = set()
        positions: Positions = {}
        columns = ([loc for loc, _ in keys], [sku for _, sku in keys], ids)
        for first, sku, *values in conn.execute(self._LOOKUP, columns):
            if sku is None:
                known.add(first)
            else:
                positions[(first, sku)] = Standing(*values)
        if by_channel:
            columns = ([loc for loc, _ in by_channel], [sku for _, sku in by_channel])
            for location, sku, channel, units in conn.execute(self._CHANNELS_OF, columns):
                if (location, sku) in positions:
                    positions[(location, sku)].by_channel[channel] = units
        return known, positions

    def write(
        self, conn: Any, totals: list[Total], reservations: list, lines: list, held: list[Held]
    ):
        columns = self._columns(totals, reservations, lines, held)
        rows = conn.execute(self._WRITE, columns).fetchall()
        inserted = next((row[0] for row in rows if row[3] is None), 0)
        return self._taken(rows, totals), inserted

    def write_at_once(
        self, conn: Any, totals: list[Total], reservations: list, lines: list, held: list[Held]
    ) -> list[tuple] | None:
        """One statement in its own transaction (autocommit): one round trip. Its guard raises
        when the group is not whole (_WRITE_WHOLE), so it commits all of the group or none of it."""
        columns = (
            *self._columns(totals, reservations, lines, held),
            len(totals),
            len(reservations),
        )
        conn.autocommit = True
        try:
            rows = conn.execute(self._WRITE_WHOLE, columns).fetchall()
        except Exception as error:
            if not functions.group_not_whole(error):
                raise
            return None
        finally:
            conn.autocommit = False
        return self._taken(rows, totals)  # type: ignore[return-value]  # whole: every one gave

    @staticmethod
    def _taken(rows: list[tuple], totals: list[Total]) -> list[tuple | None]:
        """The updated row per total (None where it gave nothing), its channels' parts appended."""
        taken: dict[Key, tuple] = {}
        parts: dict[Key, dict[str, int]] = {}
        for _, location, sku, channel, *values in rows:
            if channel is None:
                taken[(location, sku)] = tuple(values)
            else:
                parts.setdefault((location, sku), {})[channel] = values[2]
        return [(*taken[key], parts.get(key, {})) if key in taken else None for key, _ in totals]

    @staticmethod
    def _columns(totals: list[Total], reservations: list, lines: list, held: list[Held]) -> tuple:
        return (
            [loc for (loc, _), _ in totals],
            [sku for (_, sku), _ in totals],
            [units for _, units in totals],
            *(list(column) for column in zip(*reservations, strict=True)),
            *(list(column) for column in zip(*lines, strict=True)),
            *([row[i] for row in held] for i in range(4)),
        )


def dialect_of(engine: Engine) -> Dialect:
    if engine.dialect.name == "sqlite":
        return SQLite()
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return Postgres()
    raise ValueError(f"no hold statements for {engine.dialect.name}+{engine.dialect.driver}")
