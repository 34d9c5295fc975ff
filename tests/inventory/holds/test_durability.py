"""A hold or release once acknowledged survives the process that answered it (invariant 5):
a holder killed mid-stream, on the real backends, loses none of what it said."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

from inventory.projection.rebuild import rebuild
from inventory.projection.reconcile import reconcile
from tests.inventory.helpers import NETWORK
from tests.inventory.holding import assert_never_oversold, reservation_rows

HOLDS_BEFORE_KILL = 300  # acknowledged holds the child gets through before it is killed
CHILD_TIMEOUT_S = 120


def redis_url(client) -> str:
    """The URL of the server `client` talks to, for another process (a unix socket for the
    embedded server)."""
    kw = client.connection_pool.connection_kwargs
    if kw.get("path"):
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"


HOLDER = textwrap.dedent(
    """
    import json, random, sys, threading
    import redis
    from inventory.sql.engine import open_engine
    from inventory.holds.request import HoldLine, HoldRequest
    from inventory.ledger import Ledger
    from inventory.projection.store import Projection
    from inventory.availability.reader import AvailabilityReader
    from inventory.holds.service import Reservations
    from inventory.stock.count_rule import Outcome
    from tests.inventory.helpers import STORE, WAREHOUSE, ev

    url, redis_url, prefix, run = sys.argv[1:5]
    CLIENTS = 8
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    ledger = Ledger(open_engine(url), Projection(client, prefix))
    skus = [f"SKU-{run}-{i}" for i in range(4)]
    seeded = ledger.ingest([ev(loc.id, s, "count", 400) for s in skus for loc in (WAREHOUSE, STORE)])
    assert seeded.count(Outcome.applied) == 8
    desk = Reservations(ledger, AvailabilityReader(ledger.projection), group_commit=True)
    said = threading.Lock()

    def say(*words):
        with said:
            print(*words, flush=True)

    def holding(n):
        rng = random.Random(n)
        for i in range(1_000_000):
            first, second = rng.sample(skus, 2)
            units = 5000 if i % 7 == 6 else rng.randint(1, 3)  # now and then more than there is
            lines = [HoldLine(sku=first, quantity=units), HoldLine(sku=second, quantity=1)]
            outcome = desk.hold(HoldRequest(id=f"{run}-{n}-{i}", lines=lines))
            takes = [[t.line, t.location, t.sku, t.quantity] for t in outcome.takes]
            say("HOLD", outcome.id, outcome.status, json.dumps(takes))
            if outcome.status == "held" and i % 3 == 0:
                say("RELEASING", outcome.id)
                say("RELEASED", outcome.id, desk.release(outcome.id))

    for n in range(CLIENTS):
        threading.Thread(target=holding, args=(n,)).start()
    """
)


class Acknowledged:
    """What the killed child answered, read from its stdout: holds (status, takes), the
    releases it started, and the releases it answered (with the status they returned)."""

    def __init__(self) -> None:
        self.holds: dict[str, tuple[str, frozenset]] = {}
        self.releasing: set[str] = set()
        self.released: dict[str, str] = {}

    def read(self, line: str) -> None:
        if not line.endswith("\n"):
            return  # cut short by the kill: never answered
        kind, rid, *rest = line.rstrip("\n").split(" ", 2)
        if kind == "HOLD":
            status, takes = rest[0].split(" ", 1)
            self.holds[rid] = (status, frozenset(tuple(t) for t in json.loads(takes)))
        elif kind == "RELEASING":
            self.releasing.add(rid)
        else:
            self.released[rid] = rest[0]


def run_holder_until_killed(backend, tmp_path: Path) -> Acknowledged:
    """Start the child on the backend's SQL and Redis, SIGKILL it once it has answered
    HOLDS_BEFORE_KILL holds (its other clients' holds still in flight)."""
    run = uuid.uuid4().hex[:8]
    args = [backend.url, redis_url(backend.projection.redis), backend.projection.prefix, run]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    with open(tmp_path / "child.err", "w+") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", HOLDER, *args],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip
        watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)
        watchdog.start()
        acked = Acknowledged()
        try:
            for line in child.stdout:  # to the end: what it said until it died was said
                acked.read(line)
                if len(acked.holds) == HOLDS_BEFORE_KILL:
                    child.send_signal(signal.SIGKILL)  # mid-stream: groups still being decided
            child.wait(timeout=30)
        finally:
            watchdog.cancel()
            if child.poll() is None:  # the parent failed first: never leave the child running
                child.kill()
                child.wait(timeout=30)
        stderr.seek(0)
        errors = stderr.read()
    assert len(acked.holds) >= HOLDS_BEFORE_KILL, f"the child stopped early:\n{errors}"
    assert child.returncode == -signal.SIGKILL
    assert "Traceback" not in errors, errors
    return acked


def test_a_killed_holder_loses_no_acknowledged_hold_or_release(backend, tmp_path):
    backend.ledger.upsert_locations(NETWORK)
    acked = run_holder_until_killed(backend, tmp_path)
    recorded = reservation_rows(backend)

    held = {rid for rid, (status, _) in acked.holds.items() if status == "held"}
    assert held and acked.released, "the child must have acknowledged holds and releases"
    for rid in held:
        status, _, lines = recorded[rid]
        if rid in acked.released:
            assert status == "released", rid
        elif rid in acked.releasing:  # its release was in flight when the child died
            assert status in ("held", "released"), rid
        else:
            assert status == "held", rid
        assert lines == acked.holds[rid][1], rid
    assert set(acked.released.values()) == {"released"}
    refused = {rid for rid, (status, _) in acked.holds.items() if status == "refused"}
    assert not refused & recorded.keys()  # a refused hold records nothing
    assert {status for status, _, _ in recorded.values()} <= {"held", "released"}
    assert_never_oversold(backend)

    rebuild(backend.ledger)
    assert reconcile(backend.ledger).drifts == []
