"""The embedded ledger keeps its write-ahead log short without making commits wait for it."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from inventory.db import checkpoint, open_engine
from inventory.ledger import Ledger
from inventory.projection import Projection
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
