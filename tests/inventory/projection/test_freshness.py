"""An engine never serves a projection it cannot vouch for: one stamped on another server run, or
left behind by a writer that died between its SQL commit and its projection write, is rebuilt
before it is served; one that can be vouched for is served as it is."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import redis

from inventory.domain.projected import Projected
from inventory.projection import writers
from inventory.projection.freshness import Stamp, WriterMark, is_gone, why_rebuild
from inventory.projection.rebuild import rebuild
from inventory.projection.stamp import read_stamp, server_run_id
from inventory.projection.store import Projection
from inventory.projection.vouch import vouch
from tests.inventory.helpers import WAREHOUSE, ev, sku
from tests.inventory.holds.test_durability import redis_url

DIES_AFTER_ITS_COMMIT = textwrap.dedent(
    """
    import os, signal, sys
    import redis
    from inventory.ledger import Ledger
    from inventory.projection import writers
    from inventory.projection.store import Projection
    from inventory.sql.engine import open_engine
    from tests.inventory.helpers import WAREHOUSE, ev

    url, redis_url, elsewhere, sku = sys.argv[1:5]
    engine = open_engine(url)
    writers.sign_in(engine)
    # Its projection writes go where no reader looks: as if it died before making them.
    ledger = Ledger(engine, Projection(redis.Redis.from_url(redis_url), elsewhere))
    ledger.ingest([ev(WAREHOUSE.id, sku, "sale", 8, minutes=1)])
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def available(backend, s: str) -> int:
    return backend.reader.check([s])[0].available


def counted_and_built(ledger, backend, units: int = 10) -> str:
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", units)])
    rebuild(ledger, grace_s=0.1)
    assert available(backend, s) == units
    return s


def test_a_projection_stamped_on_another_server_run_is_rebuilt_before_it_is_served(ledger, backend):
    s = counted_and_built(ledger, backend)
    ledger.ingest([ev(WAREHOUSE.id, s, "sale", 8, minutes=1)])
    # The server came back from a snapshot taken before the sale, on a run of its own.
    projection = backend.projection
    projection.overwrite({(WAREHOUSE.id, s): Projected.of(1, 10, 0, 0, None)})
    projection.redis.hset(projection.stamp_key, "run_id", "the-run-before-the-restart")
    assert available(backend, s) == 10

    vouched = vouch(ledger)

    assert "restarted" in (vouched.rebuilt_because or "")
    assert available(backend, s) == 2
    assert read_stamp(projection) == Stamp(server_run_id(projection), projection.generations().live)


def test_a_start_after_a_writer_died_between_commit_and_projection_rebuilds_before_serving(
    ledger, backend
):
    s = counted_and_built(ledger, backend)
    elsewhere = f"x{uuid.uuid4().hex[:10]}"
    args = [backend.url, redis_url(backend.projection.redis), elsewhere, s]
    child = subprocess.run(
        [sys.executable, "-c", DIES_AFTER_ITS_COMMIT, *args],
        env={**os.environ, "PYTHONPATH": os.getcwd()}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    Projection(backend.projection.redis, elsewhere).wipe()
    assert child.returncode == -9, child.stderr
    assert ledger.position(WAREHOUSE.id, s).on_hand == 2
    assert available(backend, s) == 10  # the sale never reached the projection

    vouched = vouch(ledger)

    assert "without a clean close" in (vouched.rebuilt_because or "")
    assert vouched.writers_forgotten == 1
    assert available(backend, s) == 2
    assert writers.gone(ledger.engine) == []
    assert vouch(ledger).rebuilt_because is None  # vouched for now


def test_a_projection_never_built_is_built_before_it_is_served(ledger, backend):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 4)])
    assert read_stamp(backend.projection) is None

    vouched = vouch(ledger)

    assert "no stamp" in (vouched.rebuilt_because or "")
    assert available(backend, s) == 4


def test_a_projection_that_can_be_vouched_for_is_served_as_it_is(ledger, backend):
    s = counted_and_built(ledger, backend)
    running = writers.sign_in(ledger.engine)  # this very process: a writer that runs
    try:
        before = backend.projection.generations().live
        assert vouch(ledger).rebuilt_because is None
        assert backend.projection.generations().live == before
        assert available(backend, s) == 10
    finally:
        writers.sign_out(ledger.engine, running)
    assert writers.gone(ledger.engine) == []


def test_a_writer_on_another_host_is_gone_once_its_heartbeat_falls_silent():
    mark = WriterMark("w", "elsewhere", 1234, "99", seen_us=1_000_000_000)
    assert not is_gone(mark, "here", running=False, now_us=1_000_000_000 + 59_000_000)
    assert is_gone(mark, "here", running=False, now_us=1_000_000_000 + 61_000_000)


def test_a_writer_on_this_host_is_gone_when_its_process_is():
    mark = WriterMark("w", "here", 1234, "99", seen_us=0)
    assert is_gone(mark, "here", running=False, now_us=0)
    assert not is_gone(mark, "here", running=True, now_us=10**18)


def test_only_a_stamp_of_this_run_and_generation_with_no_writer_gone_is_vouched_for():
    stamp = Stamp("run-a", 3)
    assert why_rebuild(stamp, "run-a", 3, 0) is None
    assert why_rebuild(None, "run-a", 3, 0) is not None
    assert why_rebuild(stamp, "run-b", 3, 0) is not None
    assert why_rebuild(stamp, "run-a", 4, 0) is not None
    assert why_rebuild(stamp, "run-a", 3, 1) is not None


def test_a_server_run_is_read_from_the_server(backend):
    assert server_run_id(backend.projection) == backend.projection.redis.info("server")["run_id"]
    assert isinstance(backend.projection.redis, redis.Redis)
