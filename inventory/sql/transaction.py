"""The one transaction helper: run a unit of work on a driver connection, commit, and retry
it when a concurrent writer or a dropped connection made it fail (one definition of retryable).

A commit whose answer was lost comes back on retry as a replay, so callers' work must be
idempotent by id, as every write of the ledger is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

TRANSACTION_ATTEMPTS = 5
WRITER_APPLICATION_NAME = "dom-hold-writer"
RETRY_PAUSE_S = 0.005
T = TypeVar("T")


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
