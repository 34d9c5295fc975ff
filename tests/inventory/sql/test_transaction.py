"""Which errors a transaction is tried again for: those another attempt can get past."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy.exc

from inventory.sql import transaction as sql_transaction


def test_the_errors_a_transaction_is_tried_again_for():
    assert sql_transaction.retryable(psycopg.errors.AdminShutdown("terminated by administrator"))
    assert sql_transaction.retryable(psycopg.errors.SerializationFailure("concurrent update"))
    assert sql_transaction.retryable(psycopg.OperationalError("server closed the connection"))
    assert sql_transaction.retryable(sqlite3.OperationalError("database is locked"))
    assert sql_transaction.retryable(psycopg.errors.UniqueViolation("duplicate key"))  # raced
    assert not sql_transaction.retryable(psycopg.errors.CheckViolation("reserved <= on_hand"))
    assert not sql_transaction.retryable(psycopg.errors.UndefinedTable("no such table"))
    assert not sql_transaction.retryable(sqlite3.OperationalError("no such table: position"))


def test_sqlalchemys_wrapper_is_looked_through_to_the_drivers_error():
    busy = sqlalchemy.exc.OperationalError(
        "BEGIN", {}, sqlite3.OperationalError("database is locked")
    )
    assert sql_transaction.retryable(busy)
    raced = sqlalchemy.exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("dup"))
    assert sql_transaction.retryable(raced)
    broken = sqlalchemy.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("CHECK failed"))
    assert not sql_transaction.retryable(broken)


def test_a_unit_of_work_is_tried_again_until_it_passes_and_then_not_again():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    assert sql_transaction.with_retries(flaky) == "done"
    assert len(calls) == 3


def test_an_error_no_retry_can_cure_is_raised_at_once():
    calls = []

    def broken() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("no such table: position")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        sql_transaction.with_retries(broken)
    assert len(calls) == 1
