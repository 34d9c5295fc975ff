"""Opening the SQL ledger: one engine per process, tuned per dialect for durable, short transactions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlmodel import SQLModel

from inventory import schema  # noqa: F401  (registers the tables)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def open_engine(url: str) -> Engine:
    """Create the engine and the tables if missing.

    SQLite runs in WAL mode with synchronous=FULL: a commit is on disk before the caller is answered,
    so an acknowledged write survives a crash. Writers take the lock at BEGIN (IMMEDIATE), so a
    transaction never has to upgrade a read lock and deadlock with another writer.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "isolation_level": None}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    else:
        engine = create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
