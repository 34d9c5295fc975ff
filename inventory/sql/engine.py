"""Opening the SQL ledger: one engine per process, tuned per dialect for durable, short transactions."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlmodel import SQLModel

from inventory.sql import channels, functions, schema  # noqa: F401  (schema: the tables)

SQLITE_BUSY_TIMEOUT_MS = 30_000
CHECKPOINT_INTERVAL_S = 0.5
SQLITE_CACHE_KIB = 256 * 1024  # page cache per connection
SQLITE_MMAP_BYTES = 1 << 30
SQLITE_BACKSTOP_CHECKPOINT_PAGES = (
    50_000  # SQLite checkpoints by itself past this, should the thread stall
)
SQLITE_WAL_RESET_PAGES = 10_000  # about 40 MB of WAL before it is emptied
TRUNCATE_WAIT_MS = 200
TRUNCATE_PAUSE_TICKS = 20  # 10 s at the default interval
log = logging.getLogger(__name__)


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
        event.listen(engine, "begin", _sqlite_begin)
        Checkpointer(engine).start()
    else:
        # No ping on checkout (a round trip per transaction): a dropped connection fails the
        # transaction, which Ledger.transaction retries on a fresh one.
        engine = create_engine(url, pool_size=16, max_overflow=16, pool_recycle=3600)
    before = set(inspect(engine).get_table_names())
    SQLModel.metadata.create_all(engine)
    functions.create(engine)
    _check_schema(engine)
    if "reservation" in before and "position_channel" not in before:
        _fill_position_channels(engine)
    return engine


# Each channel's part of reserved, from the holds that keep units (held, or consumed by an order).
_FILL_POSITION_CHANNELS = (
    "INSERT INTO position_channel (location, sku, channel, reserved)"
    " SELECT l.location, l.sku, r.channel, SUM(l.quantity)"
    " FROM reservation_line l JOIN reservation r ON r.id = l.reservation_id"
    " WHERE r.status IN ('held', 'consumed') GROUP BY l.location, l.sku, r.channel"
    " ON CONFLICT DO NOTHING"
)


def _fill_position_channels(engine: Engine) -> None:
    """A ledger made before reservations were counted by channel: count its open holds now, so
    that positions held before then are fenced on the same terms as the others."""
    with engine.begin() as conn:
        conn.exec_driver_sql(_FILL_POSITION_CHANNELS)
        held = conn.exec_driver_sql("SELECT DISTINCT channel FROM position_channel").scalars()
        channels.number(conn, list(held))


class SchemaOutdated(RuntimeError):
    """The database holds the ledger's tables as an earlier version of the engine made them."""


def _check_schema(engine: Engine) -> None:
    """Refuse, with the columns that are missing, a ledger an earlier version created: there are
    no migrations yet, and a missing column would otherwise fail the first write that needs it."""
    found = inspect(engine)
    missing = []
    for table in SQLModel.metadata.sorted_tables:
        have = {c["name"] for c in found.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    if missing:
        engine.dispose()
        raise SchemaOutdated(
            f"the ledger at {engine.url!r} was made by an earlier version of the engine and lacks "
            f"{', '.join(missing)}; create it afresh and rebuild the projection (see README)"
        )


SNAPSHOT = "dom_snapshot"  # execution option: a long read that must not hold the write lock


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection that only reads. On SQLite it takes no write lock: a read never waits for a
    writer, nor, made while a transaction of the same thread holds the lock, waits for itself."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{SNAPSHOT: True})
        yield conn


def _sqlite_begin(conn) -> None:
    """Writers take the write lock at BEGIN; a connection marked SNAPSHOT only reads, in one
    snapshot that the WAL keeps while writers go on."""
    snapshot = conn.get_execution_options().get(SNAPSHOT)
    conn.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_conn, synchronous: str) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute(
        "PRAGMA wal_autocheckpoint=0"
    )  # the checkpointer thread does it, off the commit path
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # random B-tree pages stay in memory
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def checkpoint(
    engine: Engine, mode: str = "PASSIVE", wait_ms: int | None = None
) -> tuple[int, int, int]:
    """A checkpoint, outside any transaction (inside one SQLite refuses it).

    PASSIVE never waits; TRUNCATE waits for the writer and the readers (up to `wait_ms`, else
    the busy timeout), finishes, and empties the WAL. Returns SQLite's (busy, frames in the WAL,
    frames checkpointed).
    """
    if mode not in ("PASSIVE", "TRUNCATE"):
        raise ValueError(f"checkpoint mode is PASSIVE or TRUNCATE, got {mode!r}")
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if wait_ms is not None:
            driver.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
        try:
            return tuple(driver.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())
        finally:
            if wait_ms is not None:
                driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        raw.close()


class Checkpointer:
    """Copies the SQLite WAL back into the database file in the background.

    Left to SQLite, the commit that crosses the WAL size limit pays for the whole checkpoint;
    a passive checkpoint on its own connection never blocks writers or readers. Under a steady
    stream of writes the WAL would never get the idle moment it needs to start over, so once it
    is long, a TRUNCATE checkpoint makes the writer wait the short time left to finish.
    """

    def __init__(self, engine: Engine, interval_s: float = CHECKPOINT_INTERVAL_S) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        ref = weakref.ref(self._engine)
        del self._engine
        pause = 0  # ticks to let pass before the next TRUNCATE, after one a reader held off
        while True:
            time.sleep(self._interval_s)
            engine = ref()
            if engine is None:
                return
            try:
                _, in_wal, _ = checkpoint(engine)
                pause = max(0, pause - 1)
                if in_wal > SQLITE_WAL_RESET_PAGES and pause == 0:
                    # A busy writer never lets the WAL restart: make it. Writers wait while it
                    # does, so give up soon when a long reader (a reconcile) holds it off, and
                    # leave the writers alone a while before the next try.
                    busy, _, _ = checkpoint(engine, "TRUNCATE", wait_ms=TRUNCATE_WAIT_MS)
                    pause = TRUNCATE_PAUSE_TICKS if busy else 0
            except Exception:  # a busy or closed database: the next tick tries again
                log.warning("checkpoint skipped", exc_info=True)
            del engine
