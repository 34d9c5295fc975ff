"""Staging a race on PostgreSQL without guessing at time: wait until another session is waiting
on a lock this transaction holds, as the server itself reports it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Connection, Engine, text

LOCK_WAIT_TIMEOUT_S = 10

_BLOCKED_BY = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE wait_event_type = 'Lock' AND CAST(:pid AS integer) = ANY(pg_blocking_pids(pid))"
)


def wait_until_another_waits_on(
    conn: Connection, admin: Engine, timeout_s: float = LOCK_WAIT_TIMEOUT_S
) -> None:
    """Return once some other session waits for a lock `conn`'s transaction holds; fail the test
    if none does within `timeout_s`. `admin` must be in autocommit, so that each look at
    pg_stat_activity is a fresh one rather than the snapshot of one transaction."""
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    deadline = time.monotonic() + timeout_s
    with admin.connect() as watcher:
        while not watcher.execute(_BLOCKED_BY, {"pid": pid}).scalar_one():
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no session came to wait on a lock of backend {pid} within {timeout_s} s"
                )
            time.sleep(0.005)  # paces the polling only; what is awaited is the server's report
