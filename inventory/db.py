"""Opening the SQL ledger: one engine per process, tuned per dialect for durable, short transactions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlmodel import SQLModel

from inventory import schema  # noqa: F401  (registers the tables)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def open_engine(url: str, sqlite_synchronous: str = "NORMAL") -> Engine:
    """Create the engine and the tables if missing.

    SQLite runs in WAL mode. With synchronous=NORMAL (the default) a committed transaction is in the
    WAL before the caller is answered, so it survives a crash of the process; only an operating
    system crash or power cut can lose the last commits. `sqlite_synchronous="FULL"` makes every
    commit wait for the disk as well, at several milliseconds a commit. Writers take the lock at
    BEGIN (IMMEDIATE), so a transaction never upgrades a read lock and deadlocks another writer.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "isolation_level": None}
        )
        if sqlite_synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"sqlite_synchronous is NORMAL or FULL, got {sqlite_synchronous!r}")
        event.listen(engine, "connect", lambda conn, _: _sqlite_pragmas(conn, sqlite_synchronous))
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    else:
        engine = create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_conn, synchronous: str) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute("PRAGMA wal_autocheckpoint=20000")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
