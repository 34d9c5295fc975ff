"""Set-at-a-time SQL for the ingest hot path, one statement per step whatever the batch size.

SQLAlchemy's per-row parameter handling costs more than the database work at 50,000 events/s, so
these statements go to the driver directly: PostgreSQL gets arrays (`unnest`) sent in binary
(text arrays cost the client more to build than the server to read) and COPY for the events,
SQLite gets `executemany` and the keys as a VALUES list. Both do the same thing; tests run both.

What a batch reads (`PositionRead`) and writes (`PositionWrite`) are NamedTuples whose fields are
the columns: each statement's column list is derived from them, so the order is written once and
the ingest path reads and builds rows by name. They are tuples still, so the driver's rows become
records at C speed and nothing about the statements' parameters changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

Key = tuple[str, str]
SQLITE_KEYS_PER_SELECT = 400  # two parameters a key, within SQLite's oldest limit of 999
SQLITE_IDS_PER_SELECT = 900


class PositionRead(NamedTuple):
    """A position as the ingest path reads it: the fields are the columns selected, in order,
    with the table's defaults (inventory.sql.schema.PositionRow), which a new position starts from."""

    location: str
    sku: str
    on_hand: int = 0
    reserved: int = 0
    safety: int = 0
    count_us: int | None = None
    count_id: str | None = None
    last_delta_us: int | None = None
    reported_us: int | None = None
    version: int = 0
    last_event_id: str | None = None  # the head of the position's chain (inventory.stock.history)
    last_received_us: int | None = None  # the head's receive stamp


class PositionWrite(NamedTuple):
    """A position as a batch writes it: the columns it sets, then the version and chain head it
    read, which `update_positions` expects to find still there."""

    location: str
    sku: str
    on_hand: int
    count_us: int | None
    count_id: str | None
    last_delta_us: int | None
    reported_us: int | None
    version: int
    last_event_id: str | None
    last_received_us: int | None
    read_version: int
    read_head: str | None


_EVENT_COLUMNS = "event_id, location, sku, type, quantity, occurred_us, received_us, source, outcome, prev_event_id"


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@contextmanager
def _cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """The driver's own cursor; its errors come out as SQLAlchemy's, as Ledger.transaction expects."""
    cursor = conn.connection.dbapi_connection.cursor()
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield cursor
    except dbapi_error as error:
        raise DBAPIError.instance(sql, None, error, dbapi_error) from error
    finally:
        cursor.close()


def _fetchall(conn: Connection, sql: str, params: tuple) -> list[tuple]:
    """Plain tuples straight from the driver: no per-row Python wrapping on the hot path."""
    with _cursor(conn, sql) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _columns(rows: Sequence[tuple]) -> tuple[list, ...]:
    return tuple(list(c) for c in zip(*rows, strict=True))


def _arrays(columns: Sequence[str]) -> str:
    """PostgreSQL: one typed array parameter a column, for `unnest`."""
    return ", ".join(f"%b::{'text' if c in _TEXT else 'bigint'}[]" for c in columns)


def _pick(fields: Sequence[str], names: Sequence[str]) -> Callable[[tuple], tuple]:
    """Takes `names`, in that order, out of a row of `fields` (an itemgetter: no Python call a row)."""
    return itemgetter(*(fields.index(name) for name in names))


# The position statements, their column lists derived from the records' fields.
_TEXT = {"location", "sku", "count_id", "last_event_id", "read_head"}  # the other columns: bigint
_KEY = ("location", "sku")
_AS_READ = ("read_version", "read_head")
_WRITTEN = tuple(c for c in PositionWrite._fields if c not in _AS_READ)
_SET = tuple(c for c in _WRITTEN if c not in _KEY)
_INSERTED = (*_WRITTEN, "safety")
_SELECTED = ", ".join(f"p.{c}" for c in PositionRead._fields)
_PG_INSERT = (
    f"INSERT INTO position ({', '.join(_INSERTED)}, reserved) SELECT *, 0 "
    f"FROM unnest({_arrays(_INSERTED)}) ORDER BY 1, 2 ON CONFLICT DO NOTHING RETURNING location, sku"
)
_SQLITE_INSERT = (
    f"INSERT INTO position ({', '.join(_INSERTED)}, reserved) "
    f"VALUES ({', '.join('?' * len(_INSERTED))}, 0)"
)
_PG_UPDATE = (
    f"UPDATE position p SET {', '.join(f'{c} = u.{c}' for c in _SET)} "
    f"FROM unnest({_arrays(PositionWrite._fields)}) AS u({', '.join(PositionWrite._fields)}) "
    "WHERE p.location = u.location AND p.sku = u.sku AND p.version = u.read_version "
    "AND p.last_event_id IS NOT DISTINCT FROM u.read_head "
    "RETURNING p.location, p.sku"
)
_SQLITE_UPDATE = (
    f"UPDATE position SET {', '.join(f'{c} = ?' for c in _SET)} WHERE location = ? AND sku = ?"
)
# Rows to records without a Python call a row, and unchecked: the SELECT lists the fields.
_as_position: Callable[[tuple], PositionRead] = partial(tuple.__new__, PositionRead)
_written = _pick(PositionWrite._fields, _WRITTEN)
_set_then_key = _pick(PositionWrite._fields, (*_SET, *_KEY))


def _where_in(conn: Connection, select_from: str, column: str, ids: Sequence[str]) -> list[tuple]:
    """The rows of `select_from` whose `column` is one of `ids`: one array on PostgreSQL, lists
    within SQLite's parameter limit."""
    if _pg(conn):
        return _fetchall(conn, f"{select_from} WHERE {column} = ANY(%b::text[])", (list(ids),))
    rows: list[tuple] = []
    for start in range(0, len(ids), SQLITE_IDS_PER_SELECT):
        chunk = ids[start : start + SQLITE_IDS_PER_SELECT]
        marks = ",".join("?" * len(chunk))
        rows += _fetchall(conn, f"{select_from} WHERE {column} IN ({marks})", tuple(chunk))
    return rows


class RecordedEvent(NamedTuple):
    """An event as the log holds it: its content, to tell a replay from another event under the
    same id, and the outcome it was recorded with, which a replay answers."""

    outcome: str
    content: tuple  # (location, sku, type, quantity, occurred_us, source)


def recorded_events(conn: Connection, ids: Sequence[str]) -> dict[str, RecordedEvent]:
    """event id -> the event recorded under it, for the ids recorded already."""
    rows = _where_in(
        conn,
        "SELECT event_id, outcome, location, sku, type, quantity, occurred_us, source"
        " FROM stock_event",
        "event_id",
        ids,
    )
    return {row[0]: RecordedEvent(row[1], tuple(row[2:])) for row in rows}


def location_types(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """location id -> type, for the ids that exist."""
    return dict(_where_in(conn, "SELECT id, type FROM location", "id", ids))


def read_positions(conn: Connection, keys: Sequence[Key]) -> list[PositionRead]:
    """The existing positions among `keys`.

    SQLite: this transaction holds the only write lock, so the rows stay as read. PostgreSQL: the
    rows are read without a lock; `update_positions` writes each only if it is still as read, and
    `lock_positions` takes the ones that moved meanwhile.
    """
    return _select_positions(conn, keys, lock=False)


def new_position(key: Key, safety: int) -> PositionRead:
    """The row of a position that does not exist yet."""
    location, sku = key
    return PositionRead(location, sku, safety=safety)


def insert_positions(
    conn: Connection, rows: Sequence[PositionWrite], safety: Sequence[int]
) -> set[Key]:
    """Creates each position with its first state (`rows`) and its safety stock in one write;
    returns the keys another batch created first (PostgreSQL: the insert waited for it to
    commit), which were not written."""
    values = [(*_written(r), s) for r, s in zip(rows, safety, strict=True)]
    if _pg(conn):
        written = _fetchall(conn, _PG_INSERT, _columns(values))
        return {(r.location, r.sku) for r in rows} - set(written)
    conn.exec_driver_sql(_SQLITE_INSERT, values)
    return set()


def lock_positions(conn: Connection, keys: Sequence[Key]) -> list[PositionRead]:
    """The existing positions of `keys`, locked in key order (PostgreSQL)."""
    return _select_positions(conn, keys, lock=True)


def _select_positions(conn: Connection, keys: Sequence[Key], lock: bool) -> list[PositionRead]:
    """The existing positions among `keys`; on PostgreSQL locked in key order when asked."""
    if _pg(conn):
        rows = _fetchall(
            conn,
            f"SELECT {_SELECTED} FROM position p JOIN unnest(%b::text[], %b::text[]) AS k(l, s) "
            "ON p.location = k.l AND p.sku = k.s ORDER BY p.location, p.sku"
            + (" FOR UPDATE OF p" if lock else ""),
            _columns(keys),
        )
        return list(map(_as_position, rows))
    found: list[PositionRead] = []
    for start in range(0, len(keys), SQLITE_KEYS_PER_SELECT):
        chunk = keys[start : start + SQLITE_KEYS_PER_SELECT]
        found += map(_as_position, _fetchall(
            conn,
            f"SELECT {_SELECTED} FROM (VALUES {', '.join(['(?, ?)'] * len(chunk))}) AS k "
            "CROSS JOIN position p ON p.location = k.column1 AND p.sku = k.column2",  # keys drive
            tuple(part for key in chunk for part in key),
        ))  # fmt: skip
    return found


def insert_events(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows: (event_id, location, sku, type, quantity, occurred_us, received_us, source, outcome,
    prev_event_id)."""
    if _pg(conn):
        sql = f"COPY stock_event ({_EVENT_COLUMNS}) FROM STDIN"
        with _cursor(conn, sql) as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.exec_driver_sql(
        f"INSERT INTO stock_event ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        list(rows),
    )


def update_positions(conn: Connection, rows: Sequence[PositionWrite]) -> set[Key]:
    """Writes each row only where the position is still as read (its read_version and
    read_head); returns the keys of the rows that had moved on (another writer's commit moved
    the version or the chain's head) and were not written."""
    if not rows:
        return set()
    if _pg(conn):
        written = _fetchall(conn, _PG_UPDATE, _columns(sorted(rows)))
        return {(r.location, r.sku) for r in rows} - set(written)
    # SQLite: the transaction has held the only write lock since the rows were read.
    conn.exec_driver_sql(_SQLITE_UPDATE, list(map(_set_then_key, rows)))
    return set()
