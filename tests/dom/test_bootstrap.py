"""The wired engine on the embedded default: a long-running process expires holds by itself."""

from __future__ import annotations

import time
import uuid

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from dom.bootstrap import build
from dom.settings import Settings
from inventory.holds.request import HoldLine, HoldRequest
from tests.inventory.helpers import NETWORK, WAREHOUSE, ev, sku


def test_a_long_running_engine_gives_expired_holds_back_without_being_asked(tmp_path):
    engine = build(
        Settings(data_dir=tmp_path / "var", expiry_sweep_interval_s=0.2), long_running=True
    )
    try:
        engine.ledger.upsert_locations(NETWORK)
        s = sku()
        engine.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])
        held = engine.reservations.hold(
            HoldRequest(id=uuid.uuid4().hex, lines=[HoldLine(sku=s, quantity=2)], ttl_s=1)
        )
        assert held.status == "held"
        assert engine.reader.check([s])[0].available == 0
        deadline = time.monotonic() + 10
        while engine.reader.check([s])[0].available != 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.reader.check([s])[0].available == 2
    finally:
        engine.close()


def test_a_one_shot_command_starts_no_background_sweeper(tmp_path):
    engine = build(Settings(data_dir=tmp_path / "var"))
    try:
        assert engine.sweeper is None
    finally:
        engine.close()


def test_the_embedded_ledger_can_be_made_to_survive_a_power_cut(tmp_path):
    for setting, pragma in (("NORMAL", 1), ("FULL", 2)):
        engine = build(Settings(data_dir=tmp_path / setting, sqlite_synchronous=setting))
        try:
            with engine.ledger.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == pragma
        finally:
            engine.close()


def test_an_unknown_durability_setting_is_refused_at_start_up(monkeypatch):
    monkeypatch.setenv("DOM_SQLITE_SYNCHRONOUS", "OFF")
    with pytest.raises(ValidationError, match="sqlite_synchronous"):
        Settings()


def test_a_cluster_is_named_by_one_node_and_needs_a_url(tmp_path):
    with pytest.raises(ValidationError, match="DOM_REDIS_CLUSTER needs DOM_REDIS_URL"):
        Settings(data_dir=tmp_path, redis_cluster=True)


@pytest.mark.server
def test_the_engine_runs_on_a_redis_cluster_named_by_one_node(tmp_path, cluster_nodes):
    from tests.conftest import CLUSTER_PASSWORD

    node = cluster_nodes[1]
    settings = Settings(
        data_dir=tmp_path / "var",
        redis_url=f"redis://:{CLUSTER_PASSWORD}@{node.host}:{node.port}",
        redis_cluster=True,
        redis_prefix=f"b{uuid.uuid4().hex[:8]}",
    )
    engine = build(settings)
    try:
        engine.ledger.upsert_locations(NETWORK)
        skus = [sku() for _ in range(20)]
        engine.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3) for s in skus])
        assert [a.available for a in engine.reader.check(skus)] == [3] * 20
        assert len(engine.redis.get_primaries()) == 3
    finally:
        engine.ledger.projection.wipe()
        engine.close()


@pytest.mark.server
def test_an_engine_that_fails_to_start_leaves_no_redis_connection_open(tmp_path, server_redis):
    from tests.conftest import REDIS_URL

    before = len(server_redis.client_list())
    settings = Settings(
        data_dir=tmp_path / "var",
        redis_url=REDIS_URL,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
    )
    with pytest.raises(OperationalError, match=r"127\.0\.0\.1"):
        build(settings)
    assert len(server_redis.client_list()) <= before
