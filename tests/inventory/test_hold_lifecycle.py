"""A hold's life on the real backends: durable once acknowledged, closed exactly once, and
refused without a trace when its input is bad."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections import defaultdict
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select

from inventory.holds.outcome import ReservationConflict
from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from inventory.projection.rebuild import rebuild
from inventory.projection.reconcile import reconcile
from tests.inventory.helpers import NETWORK, STORE, T0, WAREHOUSE, ev, sku
from tests.inventory.holding import (
    LINE,
    POS,
    RES,
    assert_never_oversold,
    available,
    hold,
    together,
)

HOLDS_BEFORE_KILL = 300  # acknowledged holds the child gets through before it is killed
CHILD_TIMEOUT_S = 120
RACE_ROUNDS = 30


# -- helpers --------------------------------------------------------------------------------


def reservation_rows(backend) -> dict[str, tuple]:
    """Every reservation as recorded: its status, content hash and lines."""
    lines: dict[str, set] = defaultdict(set)
    with backend.ledger.engine.connect() as conn:
        for r in conn.execute(select(LINE)):
            lines[r.reservation_id].add((r.line, r.location, r.sku, r.quantity))
        rows = list(conn.execute(select(RES)))
    return {r.id: (r.status, r.request_hash, frozenset(lines[r.id])) for r in rows}


def redis_url(client) -> str:
    """The URL of the server `client` talks to, for another process (a unix socket for the
    embedded server)."""
    kw = client.connection_pool.connection_kwargs
    if kw.get("path"):
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"


# -- invariant 5: an acknowledged hold or release survives the process that answered ---------

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


# -- invariant 2: a due hold raced by release, consume and expiry is closed exactly once -----


def status_of(backend, rid: str) -> str:
    with backend.ledger.engine.connect() as conn:
        return conn.scalar(select(RES.c.status).where(RES.c.id == rid))


@pytest.fixture
def group_desk(backend):
    backend.ledger.upsert_locations(NETWORK)
    reservations = Reservations(backend.ledger, backend.reader, group_commit=True)
    yield reservations
    reservations.close()


def test_a_due_hold_raced_by_release_consume_and_expiry_is_closed_exactly_once(group_desk, backend):
    desk = group_desk
    a, b = sku(), sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, a, "count", 200), ev(STORE.id, b, "count", 200)])
    now = [T0 + timedelta(hours=1)]
    backend.ledger.clock = lambda: now[0]
    bystander = desk.hold(hold((a, 1), (b, 1), kind="allocation"))  # never due: keeps reserved > 0
    consumed = {a: 0, b: 0}
    for round_ in range(RACE_ROUNDS):
        now[0] = T0 + timedelta(hours=1, minutes=10 * round_)
        before = {a: available(backend, a), b: available(backend, b)}
        held = desk.hold(hold((a, 2), (b, 1), ttl_s=60))
        assert held.status == "held", held.reason
        now[0] += timedelta(minutes=2)  # the hold is due

        calls = {
            "release": partial(desk.release, held.id),
            "consume": partial(desk.consume, held.id, f"O-{held.id}"),
            "expire": desk.expire_due,
        }
        order = list(calls)[round_ % 3 :] + list(calls)[: round_ % 3]  # each gets to start last
        answers = dict(zip(order, together(*(calls[name] for name in order)), strict=True))

        final = status_of(backend, held.id)
        released, taken, expired = answers["release"], answers["consume"], answers["expire"]
        winners = [released == "released", taken == "consumed", expired == 1]
        assert winners.count(True) == 1, (round_, answers)
        assert (released, taken, expired) == (final, final, int(final == "expired")), round_
        if final == "consumed":
            consumed[a], consumed[b] = consumed[a] + 2, consumed[b] + 1
        after = {a: available(backend, a), b: available(backend, b)}
        kept = {a: 2, b: 1} if final == "consumed" else {a: 0, b: 0}
        assert after == {s: before[s] - kept[s] for s in (a, b)}, round_
        assert_never_oversold(backend)
    assert backend.ledger.position(WAREHOUSE.id, a).reserved == 1 + consumed[a]
    assert backend.ledger.position(STORE.id, b).reserved == 1 + consumed[b]
    assert status_of(backend, bystander.id) == "held"


# -- invariant 6: bad hold input is refused and changes nothing ----------------------------


def recorded_state(backend, skus: list[str]) -> tuple:
    """Everything a hold could touch for `skus`: the SQL positions (every column, the version
    too), the projection's raw record bytes, and every reservation with its lines."""
    projection = backend.projection
    with backend.ledger.engine.connect() as conn:
        positions = sorted(tuple(r) for r in conn.execute(select(POS).where(POS.c.sku.in_(skus))))
    records = {s: projection.raw.get(projection.stock_key(s)) for s in skus}
    return positions, records, reservation_rows(backend)


def assert_refused_without_a_trace(
    desk, backend, request: HoldRequest, skus: list[str], reason: str = "not available"
):
    before = recorded_state(backend, skus)
    assert any(before[1].values()), "the projection holds none of these SKUs: nothing to compare"
    outcome = desk.hold(request)
    assert (outcome.status, outcome.takes) == ("refused", ()), outcome
    assert reason in outcome.reason
    assert recorded_state(backend, skus) == before
    assert request.id not in before[2]


def stocked(backend) -> str:
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10), ev(STORE.id, s, "count", 10)])
    return s


def test_a_hold_pinned_to_an_unknown_location_is_refused_and_changes_nothing(desk, backend):
    s = stocked(backend)
    request = HoldRequest(
        id=uuid.uuid4().hex,
        lines=[HoldLine(sku=s, quantity=1), HoldLine(sku=s, quantity=1, location="DC-NOWHERE")],
    )
    reason = "line 1: unknown location 'DC-NOWHERE'"
    assert_refused_without_a_trace(desk, backend, request, [s], reason)


@pytest.mark.parametrize("counted_to_zero", [False, True], ids=["never-seen", "counted-to-zero"])
def test_a_hold_for_a_sku_with_no_stock_anywhere_is_refused_and_changes_nothing(
    desk, backend, counted_to_zero
):
    s, empty = stocked(backend), sku()
    if counted_to_zero:
        backend.ledger.ingest([ev(WAREHOUSE.id, empty, "count", 0)])
    request = hold((s, 1), (empty, 1))  # all or nothing: the stocked line takes nothing either
    assert_refused_without_a_trace(desk, backend, request, [s, empty])


def test_a_pickup_hold_at_an_unknown_store_is_refused_and_changes_nothing(desk, backend):
    s = stocked(backend)
    request = hold((s, 1), method="pickup", store="ST-NOWHERE")
    reason = "unknown pickup store 'ST-NOWHERE'"
    assert_refused_without_a_trace(desk, backend, request, [s], reason)


def test_a_hold_reusing_an_id_with_other_content_raises_a_conflict_and_changes_nothing(
    desk, backend
):
    s = stocked(backend)
    first = desk.hold(hold((s, 2)))
    assert first.status == "held"
    before = recorded_state(backend, [s])
    others = [hold((s, q), rid=first.id) for q in (3, 100)]  # one SQL decides, one the projection
    for other in [*others, hold((s, 2), rid=first.id, channel="store")]:
        with pytest.raises(ReservationConflict):
            desk.hold(other)
    assert recorded_state(backend, [s]) == before
    assert available(backend, s) == 18
