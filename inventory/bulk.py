"""Set-at-a-time SQL for the ingest hot path, one statement per step whatever the batch size.

SQLAlchemy's per-row parameter handling costs more than the database work at 50,000 events/s, so
these statements go to the driver directly: PostgreSQL gets arrays (`unnest`), SQLite gets
`executemany` and a temporary key table. Both do the same thing; tests run both.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

Key = tuple[str, str]

POSITION_COLUMNS = "location, sku, on_hand, reserved, safety, count_us, count_id, last_delta_us, reported_us, version"
_EVENT_COLUMNS = (
    "event_id, location, sku, type, quantity, occurred_us, received_us, source, outcome"
)


def _pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _fetchall(conn: Connection, sql: str, params: tuple) -> list[tuple]:
    """Plain tuples straight from the driver: no per-row wrapping on the hot path."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def existing_event_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    if _pg(conn):
        rows = conn.exec_driver_sql(
            "SELECT event_id FROM stock_event WHERE event_id = ANY(%s)", (list(ids),)
        )
        return {r[0] for r in rows}
    found: set[str] = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT event_id FROM stock_event WHERE event_id IN ({marks})", tuple(chunk)
            )
        )
    return found


def lock_positions(conn: Connection, new_rows: Sequence[tuple[str, str, int]]) -> list[tuple]:
    """Create the missing positions (location, sku, safety) and return all of them, locked.

    Rows are tuples in the order of POSITION_COLUMNS.
    """
    if _pg(conn):
        locations, skus, safety = (list(c) for c in zip(*new_rows, strict=True))
        conn.exec_driver_sql(
            "INSERT INTO position (location, sku, on_hand, reserved, safety, version) "
            "SELECT l, s, 0, 0, f, 0 FROM unnest(%s::text[], %s::text[], %s::int[]) AS k(l, s, f) "
            "ORDER BY l, s ON CONFLICT DO NOTHING",
            (locations, skus, safety),
        )
        return _fetchall(
            conn,
            f"SELECT {POSITION_COLUMNS} FROM position p JOIN unnest(%s::text[], %s::text[]) AS k(l, s) "
            "ON p.location = k.l AND p.sku = k.s ORDER BY p.location, p.sku FOR UPDATE OF p",
            (locations, skus),
        )
    # SQLite: this transaction already holds the only write lock, so read first, then create what is missing.
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS batch_key (location TEXT, sku TEXT, PRIMARY KEY (location, sku))"
    )
    conn.exec_driver_sql("DELETE FROM batch_key")
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO batch_key VALUES (?, ?)", [(r[0], r[1]) for r in new_rows]
    )
    found = _fetchall(
        conn,
        f"SELECT {', '.join('p.' + c for c in POSITION_COLUMNS.split(', '))} FROM batch_key k "
        "CROSS JOIN position p ON p.location = k.location AND p.sku = k.sku",  # keys drive the loop
        (),
    )
    known = {(row[0], row[1]) for row in found}
    missing = [r for r in new_rows if (r[0], r[1]) not in known]
    if missing:
        conn.exec_driver_sql(
            "INSERT INTO position (location, sku, on_hand, reserved, safety, version) VALUES (?, ?, 0, 0, ?, 0)",
            missing,
        )
    return found + [
        (loc, sku, 0, 0, safety, None, None, None, None, 0) for loc, sku, safety in missing
    ]


def insert_events(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows: (event_id, location, sku, type, quantity, occurred_us, received_us, source, outcome)."""
    if _pg(conn):
        columns = [list(c) for c in zip(*rows, strict=True)]
        conn.exec_driver_sql(
            f"INSERT INTO stock_event ({_EVENT_COLUMNS}) SELECT * FROM unnest("
            "%s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::bigint[], %s::bigint[], %s::text[], %s::text[])",
            tuple(columns),
        )
        return
    conn.exec_driver_sql(
        f"INSERT INTO stock_event ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", list(rows)
    )


def update_positions(conn: Connection, rows: Sequence[tuple]) -> None:
    """rows: (location, sku, on_hand, count_us, count_id, last_delta_us, reported_us, version)."""
    if _pg(conn):
        columns = [list(c) for c in zip(*rows, strict=True)]
        conn.exec_driver_sql(
            "UPDATE position p SET on_hand = u.on_hand, count_us = u.count_us, count_id = u.count_id, "
            "last_delta_us = u.last_delta_us, reported_us = u.reported_us, version = u.version "
            "FROM unnest(%s::text[], %s::text[], %s::int[], %s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[]) "
            "AS u(location, sku, on_hand, count_us, count_id, last_delta_us, reported_us, version) "
            "WHERE p.location = u.location AND p.sku = u.sku",
            tuple(columns),
        )
        return
    conn.exec_driver_sql(
        "UPDATE position SET on_hand = ?, count_us = ?, count_id = ?, last_delta_us = ?, reported_us = ?, version = ? "
        "WHERE location = ? AND sku = ?",
        [(r[2], r[3], r[4], r[5], r[6], r[7], r[0], r[1]) for r in rows],
    )
