"""The one transaction helper: run a unit of work, commit, and retry it when a concurrent writer
or a dropped connection made it fail. One retry loop and one definition of retryable, for the
ledger's SQLAlchemy transactions and the hold writer's bare driver connection alike.

A commit whose answer was lost comes back on retry as a replay, so the work must be idempotent
by id, as every write of the ledger is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

TRANSACTION_ATTEMPTS = 5
RETRY_PAUSE_S = 0.005  # times the attempt number: 5, 10, 15, 20 ms
WRITER_APPLICATION_NAME = "dom-hold-writer"
T = TypeVar("T")

# SQLSTATEs worth another attempt: serialization failure, deadlock, and a unique key that a
# concurrent writer recorded first (the retry then finds it recorded: a replay).
_RETRY_STATES = {"40001", "40P01", "23505"}


def retryable(error: BaseException) -> bool:
    """Deadlocks, serialization failures, a concurrent writer's unique key, a busy SQLite file,
    a connection the server dropped or is shutting down. SQLAlchemy's wrappers are looked through
    to the driver's error."""
    if getattr(error, "connection_invalidated", False):
        return True
    driver_error = getattr(error, "orig", None) or error
    state = getattr(driver_error, "sqlstate", None)
    if state in _RETRY_STATES:
        return True
    if any(cls.__name__ == "OperationalError" for cls in type(driver_error).__mro__):
        if "locked" in str(driver_error):  # a busy SQLite file
            return True
        # psycopg's (AdminShutdown, ...): no SQLSTATE when the connection itself failed, class
        # 08 for a connection lost, 57P for a server shutting down or restarting
        return hasattr(driver_error, "sqlstate") and (
            state is None or state.startswith(("08", "57P"))
        )
    return False


def with_retries(attempt: Callable[[], T]) -> T:
    """Call `attempt` until it succeeds, or fails with an error that another try cannot cure,
    or TRANSACTION_ATTEMPTS are spent."""
    for number in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            return attempt()
        except Exception as error:
            if number == TRANSACTION_ATTEMPTS or not retryable(error):
                raise
        time.sleep(RETRY_PAUSE_S * number)
    raise AssertionError("unreachable")


def transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run `work` in one SQLAlchemy transaction on `engine`, committed when it returns."""

    def attempt() -> T:
        with engine.begin() as conn:
            return work(conn)

    return with_retries(attempt)


def driver_transaction(connections: Engine | Connections, work: Callable[[Any], T]) -> T:
    """Run `work` on a bare driver connection (sqlite3 or psycopg) and commit: the hold path's
    few statements skip SQLAlchemy's per-statement cost."""
    source = connections if isinstance(connections, Connections) else Connections(connections)

    def attempt() -> T:
        pooled = source.checkout()
        broken = False
        try:
            conn = pooled.driver_connection
            result = work(conn)
            conn.commit()
            return result
        except Exception:
            try:
                pooled.driver_connection.rollback()
            except Exception:
                broken = True
            raise
        finally:
            source.checkin(pooled, broken)

    return with_retries(attempt)


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
