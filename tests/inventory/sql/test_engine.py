"""Opening the ledger: the embedded one keeps its write-ahead log short without making commits
wait for it, and a database an earlier version of the engine made is refused, on both backends."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from inventory.ledger import Ledger
from inventory.projection.store import Projection
from inventory.sql.engine import SNAPSHOT, TRUNCATE_WAIT_MS, SchemaOutdated, checkpoint, open_engine
from tests.conftest import PG_URL
from tests.inventory.helpers import NETWORK, STORE, ev


def test_the_wal_is_copied_back_into_the_database_in_the_background(
    tmp_path: Path, embedded_redis: redis.Redis
):
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(open_engine(f"sqlite:///{path}"), Projection(embedded_redis, "wal"))
    try:
        ledger.upsert_locations(NETWORK)
        for batch in range(20):
            ledger.ingest([ev(STORE.id, f"SKU-WAL-{batch}-{i}", "receive", 1) for i in range(200)])
        deadline = time.monotonic() + 10
        while path.stat().st_size < 100_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert path.stat().st_size >= 100_000  # the rows reached the database file itself
        # the background thread may be checkpointing at this very moment (busy): ask again
        while (state := checkpoint(ledger.engine))[0] and time.monotonic() < deadline + 10:
            time.sleep(0.05)
        busy, in_wal, done = state
        assert (busy, in_wal - done) == (0, 0)
    finally:
        ledger.projection.wipe()
        ledger.close()


def test_a_ledger_made_by_an_earlier_version_is_refused_with_what_it_lacks(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    open_engine(url).dispose()
    with sqlite3.connect(tmp_path / "old.sqlite") as old:  # as the previous version made it
        old.execute("ALTER TABLE stock_event DROP COLUMN prev_event_id")
    with pytest.raises(SchemaOutdated, match=r"lacks stock_event\.prev_event_id;"):
        open_engine(url)


def test_a_ledger_made_before_settlements_gains_their_table_as_it_opens(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    open_engine(url).dispose()
    with sqlite3.connect(tmp_path / "old.sqlite") as old:  # as the previous version made it
        old.execute("DROP TABLE settlement")
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM settlement")) == 0
    finally:
        engine.dispose()


@pytest.mark.server
def test_a_postgresql_ledger_made_by_an_earlier_version_is_refused(postgres_admin):
    schema = f"t{uuid.uuid4().hex[:10]}"
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    with postgres_admin.connect() as admin:
        admin.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            open_engine(url).dispose()
            admin.execute(text(f"ALTER TABLE {schema}.position DROP COLUMN last_received_us"))
            with pytest.raises(SchemaOutdated, match=r"lacks position\.last_received_us;"):
                open_engine(url)
        finally:
            admin.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def test_a_long_reader_holds_off_the_wal_reset_briefly_not_for_the_busy_timeout(tmp_path):
    """Reconcile reads one snapshot for minutes; the WAL reset, which makes writers wait while it
    is pending, gives up after TRUNCATE_WAIT_MS instead of the 30 s busy timeout."""
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        with engine.connect() as writer:
            writer.exec_driver_sql("INSERT INTO safety_rule (units) VALUES (1)")
            writer.commit()
        with engine.connect().execution_options(**{SNAPSHOT: True}) as reader:
            reader.exec_driver_sql("SELECT count(*) FROM safety_rule").scalar()  # snapshot held
            with engine.connect() as writer:
                writer.exec_driver_sql("INSERT INTO safety_rule (units) VALUES (2)")
                writer.commit()  # a reader never holds a writer back
            started = time.monotonic()
            busy, _, _ = checkpoint(engine, "TRUNCATE", wait_ms=TRUNCATE_WAIT_MS)
            assert busy == 1
            assert time.monotonic() - started < 5
            assert reader.exec_driver_sql("SELECT count(*) FROM safety_rule").scalar() == 1
    finally:
        engine.dispose()
