"""An acknowledged write is durable: a process killed right after acknowledging loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from sqlalchemy import func, select

from inventory.projection.reconcile import reconcile
from inventory.sql.schema import StockEventRow
from inventory.stock.count_rule import Outcome
from tests.inventory.helpers import NETWORK

WRITER = textwrap.dedent(
    """
    import sys, uuid
    from pathlib import Path
    from dom import embedded_redis
    from inventory.sql.engine import open_engine
    from inventory.ledger import Ledger
    from inventory.projection.store import Projection
    from inventory.stock.count_rule import Outcome
    from tests.inventory.helpers import STORE, ev

    url, redis_folder = sys.argv[1], Path(sys.argv[2])
    client = embedded_redis.start(redis_folder).client()  # dies with this process
    ledger = Ledger(open_engine(url), Projection(client, "crash"))
    for batch in range(1_000_000):
        events = [ev(STORE.id, f"SKU-CRASH-{i % 7}", "receive", 1, eid=f"crash-{batch}-{i}") for i in range(50)]
        result = ledger.ingest(events, wait=False)
        assert result.count(Outcome.applied) == 50
        print(f"ACK {batch}", flush=True)
    """
)


def test_a_killed_writer_loses_no_acknowledged_event(backend, tmp_path):
    backend.ledger.upsert_locations(NETWORK)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, backend.url, str(tmp_path / "child-redis")],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    acked = -1
    for line in child.stdout:
        acked = int(line.split()[1])
        if acked == 40:
            child.send_signal(signal.SIGKILL)  # mid-stream, with the projection still catching up
            break
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    evt = StockEventRow.__table__
    with backend.ledger.engine.connect() as conn:
        recorded = set(conn.scalars(select(evt.c.event_id).where(evt.c.event_id.like("crash-%"))))
        applied = conn.scalar(
            select(func.count()).select_from(evt).where(evt.c.outcome == Outcome.applied.value)
        )
    acknowledged = {f"crash-{b}-{i}" for b in range(acked + 1) for i in range(50)}
    assert acknowledged <= recorded
    assert applied == len(recorded)
    report = reconcile(backend.ledger, repair=True)
    assert [
        d for d in report.drifts if d.kind != "projection"
    ] == []  # positions match their history
    assert reconcile(backend.ledger).drifts == []
