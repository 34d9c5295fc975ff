"""The hold group's guard raises by its own code, told apart from every other error."""

from __future__ import annotations

import psycopg
import pytest

from inventory.sql import functions


def test_the_guard_raises_its_own_code_and_nothing_else_passes_for_it(backend):
    if backend.name != "server":
        pytest.skip("PostgreSQL only: SQLite decides a group under its one writer's lock")
    functions.create(backend.ledger.engine)  # as more processes opening the same ledger do
    raw = backend.ledger.engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.autocommit = True
        with pytest.raises(psycopg.Error) as guard:
            conn.execute(f"SELECT {functions.GROUP_NOT_WHOLE_CALL}")
        assert functions.group_not_whole(guard.value)
        with pytest.raises(psycopg.Error) as other:
            conn.execute("SELECT 1 / 0")
        assert not functions.group_not_whole(other.value)
    finally:
        raw.close()
