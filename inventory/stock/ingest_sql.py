"""Set-at-a-time SQL for the ingest hot path, one statement per step whatever the batch size.

SQLAlchemy's per-row parameter handling costs more than the database work at 50,000 events/s, so
these statements go to the driver directly: PostgreSQL gets arrays (`unnest`) sent in binary
(text arrays cost the client more to build than the server to read) and COPY for the events,
SQLite gets `executemany` and the keys as a VALUES list. Both do the same thing; tests run both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

Key = tuple[str, str]
SQLITE_KEYS_PER_SELECT = 400  # two parameters a key, within SQLite's oldest limit of 999
SQLITE_IDS_PER_SELECT = 900
POSITION_COLUMNS = "location, sku, on_hand, reserved, safety, count_us, count_id, last_delta_us, reported_us, version, last_event_id, last_received_us"
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
    """Plain tuples straight from the driver: no per-row wrapping on the hot path."""
    with _cursor(conn, sql) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _columns(rows: Sequence[tuple]) -> tuple[list, ...]:
    return tuple(list(c) for c in zip(*rows, strict=True))


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


def recorded_outcomes(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """event id -> the outcome it was recorded with, for the ids recorded already."""
    return dict(_where_in(conn, "SELECT event_id, outcome FROM stock_event", "event_id", ids))


def location_types(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """location id -> type, for the ids that exist."""
    return dict(_where_in(conn, "SELECT id, type FROM location", "id", ids))


def read_positions(conn: Connection, keys: Sequence[Key]) -> list[tuple]:
    """The existing positions among `keys`, as tuples in the order of POSITION_COLUMNS.

    SQLite: this transaction holds the only write lock, so the rows stay as read. PostgreSQL: the
    rows are read without a lock; `update_positions` writes each only if it is still as read, and
    `lock_positions` takes the ones that moved meanwhile.
    """
    return _select_positions(conn, keys, lock=False)


def new_position(key: Key, safety: int) -> tuple:
    """The row of a position that does not exist yet, in the order of POSITION_COLUMNS."""
    return (*key, 0, 0, safety, None, None, None, None, 0, None, None)


def insert_positions(conn: Connection, rows: Sequence[tuple]) -> set[Key]:
    """rows: as for `update_positions`, plus the safety stock last. Creates each position with its
    first state in one write; returns the keys another batch created first (PostgreSQL: the
    insert waited for it to commit), which were not written."""
    columns = "location, sku, on_hand, count_us, count_id, last_delta_us, reported_us, version, last_event_id, last_received_us, safety"
    values = [(*r[:10], r[12]) for r in rows]
    if _pg(conn):
        written = _fetchall(
            conn,
            f"INSERT INTO position ({columns}, reserved) SELECT *, 0 FROM unnest(%b::text[], "
            "%b::text[], %b::bigint[], %b::bigint[], %b::text[], %b::bigint[], %b::bigint[], "
            "%b::bigint[], %b::text[], %b::bigint[], %b::bigint[]) ORDER BY 1, 2 "
            "ON CONFLICT DO NOTHING RETURNING location, sku",
            _columns(values),
        )
        return {(r[0], r[1]) for r in rows} - {(r[0], r[1]) for r in written}
    conn.exec_driver_sql(
        f"INSERT INTO position ({columns}, reserved) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        values,
    )
    return set()


def lock_positions(conn: Connection, keys: Sequence[Key]) -> list[tuple]:
    """The existing positions of `keys`, locked in key order (PostgreSQL)."""
    return _select_positions(conn, keys, lock=True)


def _select_positions(conn: Connection, keys: Sequence[Key], lock: bool) -> list[tuple]:
    """The existing positions among `keys`; on PostgreSQL locked in key order when asked."""
    if _pg(conn):
        return _fetchall(
            conn,
            f"SELECT {POSITION_COLUMNS} FROM position p JOIN unnest(%b::text[], %b::text[]) AS k(l, s) "
            "ON p.location = k.l AND p.sku = k.s ORDER BY p.location, p.sku"
            + (" FOR UPDATE OF p" if lock else ""),
            _columns(keys),
        )
    found: list[tuple] = []
    columns = ", ".join("p." + c for c in POSITION_COLUMNS.split(", "))
    for start in range(0, len(keys), SQLITE_KEYS_PER_SELECT):
        chunk = keys[start : start + SQLITE_KEYS_PER_SELECT]
        found += _fetchall(
            conn,
            f"SELECT {columns} FROM (VALUES {', '.join(['(?, ?)'] * len(chunk))}) AS k "
            "CROSS JOIN position p ON p.location = k.column1 AND p.sku = k.column2",  # keys drive
            tuple(part for key in chunk for part in key),
        )
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


def update_positions(conn: Connection, rows: Sequence[tuple]) -> set[Key]:
    """rows: (location, sku, on_hand, count_us, count_id, last_delta_us, reported_us, version,
    last_event_id, last_received_us, version as read, last_event_id as read). Writes a row only
    where the position is still as read; returns the keys of the rows that had moved on (another
    writer's commit moved the version or the chain's head) and were not written."""
    if not rows:
        return set()
    if _pg(conn):
        written = _fetchall(
            conn,
            "UPDATE position p SET on_hand = u.on_hand, count_us = u.count_us, count_id = u.count_id, "
            "last_delta_us = u.last_delta_us, reported_us = u.reported_us, version = u.version, "
            "last_event_id = u.last_event_id, last_received_us = u.last_received_us "
            "FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::bigint[], %b::text[], %b::bigint[], "
            "%b::bigint[], %b::bigint[], %b::text[], %b::bigint[], %b::bigint[], %b::text[]) "
            "AS u(location, sku, on_hand, count_us, count_id, last_delta_us, reported_us, version, "
            "last_event_id, last_received_us, read_version, read_head) "
            "WHERE p.location = u.location AND p.sku = u.sku AND p.version = u.read_version "
            "AND p.last_event_id IS NOT DISTINCT FROM u.read_head "
            "RETURNING p.location, p.sku",
            _columns(sorted(rows)),
        )
        return {(r[0], r[1]) for r in rows} - {(r[0], r[1]) for r in written}
    # SQLite: the transaction has held the only write lock since the rows were read.
    conn.exec_driver_sql(
        "UPDATE position SET on_hand = ?, count_us = ?, count_id = ?, last_delta_us = ?, reported_us = ?, version = ?, "
        "last_event_id = ?, last_received_us = ? WHERE location = ? AND sku = ?",
        [(*r[2:10], r[0], r[1]) for r in rows],
    )
    return set()
