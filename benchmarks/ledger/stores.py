"""Fresh ledgers for the benchmarks: embedded (SQLite + its own Redis) or the PostgreSQL + Redis servers."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

from inventory.availability.reader import AvailabilityReader
from inventory.ledger import Ledger
from inventory.projection.store import Projection
from inventory.sql.engine import open_engine

PG_URL = os.environ.get(
    "DOM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("DOM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


@contextmanager
def fresh_ledger(backend: str) -> Iterator[tuple[Ledger, AvailabilityReader]]:
    """An empty ledger with its own schema / file and key prefix, removed afterwards."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    if backend == "embedded":
        from dom import embedded_redis

        folder = tempfile.mkdtemp(prefix="dom-bench-")
        server = embedded_redis.start(Path(folder))
        client = server.client()
        ledger = Ledger(
            open_engine(f"sqlite:///{folder}/ledger.sqlite"), Projection(client, prefix)
        )
        try:
            yield ledger, AvailabilityReader(ledger.projection)
        finally:
            ledger.close()
            client.close()
            server.close()
            shutil.rmtree(folder, ignore_errors=True)
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {prefix}"))
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    ledger = Ledger(
        open_engine(f"{PG_URL}?options=-csearch_path%3D{prefix}"), Projection(client, prefix)
    )
    try:
        yield ledger, AvailabilityReader(ledger.projection)
    finally:
        ledger.projection.wipe()
        ledger.close()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {prefix} CASCADE"))
        admin.dispose()
