"""Which errors a transaction is tried again for: those another attempt can get past."""

from __future__ import annotations

from inventory.sql import transaction as sql_transaction


def test_the_errors_a_transaction_is_tried_again_for():
    import sqlite3

    import psycopg

    assert sql_transaction._retryable(psycopg.errors.AdminShutdown("terminated by administrator"))
    assert sql_transaction._retryable(psycopg.errors.SerializationFailure("concurrent update"))
    assert sql_transaction._retryable(psycopg.OperationalError("server closed the connection"))
    assert sql_transaction._retryable(sqlite3.OperationalError("database is locked"))
    assert not sql_transaction._retryable(psycopg.errors.UniqueViolation("duplicate key"))
    assert not sql_transaction._retryable(psycopg.errors.UndefinedTable("no such table"))
    assert not sql_transaction._retryable(sqlite3.OperationalError("no such table: position"))
