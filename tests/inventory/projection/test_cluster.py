"""The projection on a Redis Cluster: every per-SKU write stays on its shard, and the engine gives
the same answers as on one Redis server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from inventory.availability.reader import AvailabilityReader
from inventory.holds.request import HoldLine, HoldRequest
from inventory.holds.service import Reservations
from inventory.ledger import Ledger
from inventory.projection.rebuild import rebuild
from inventory.projection.reconcile import reconcile
from inventory.projection.store import Projection
from inventory.sql.engine import open_engine
from tests.cluster import client
from tests.conftest import CLUSTER_PASSWORD
from tests.inventory.helpers import NETWORK, STORE, WAREHOUSE, ev, sku

pytestmark = pytest.mark.server


@pytest.fixture
def clustered(cluster_nodes, tmp_path: Path) -> Iterator[tuple[Ledger, AvailabilityReader]]:
    redis_client = client(cluster_nodes, CLUSTER_PASSWORD)
    ledger = Ledger(
        open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}"),
        Projection(redis_client, f"c{uuid.uuid4().hex[:10]}"),
    )
    ledger.upsert_locations(NETWORK)
    yield ledger, AvailabilityReader(ledger.projection)
    ledger.projection.wipe()
    ledger.close()
    ledger.projection.close()
    redis_client.close()


def test_the_keys_written_together_share_a_cluster_slot(clustered) -> None:
    ledger, _ = clustered
    projection = ledger.projection
    s = sku()
    assert key_slot(projection.stock_key(s).encode()) == key_slot(
        projection.inbound_key(s).encode()
    )
    assert key_slot(projection.inbound_mark_key(s, 7).encode()) == key_slot(
        projection.stock_key(s, 8).encode()
    )  # every generation of a SKU on the SKU's shard
    net = {
        key_slot(k.encode())
        for k in (
            projection.network_key,
            projection.network_version_key,
            projection.generation_key,
            projection.building_key,
            projection.generation_counter_key,
        )
    }
    assert len(net) == 1  # the pointers move in one script
    assert ledger.projection.network()[1] is not None  # published across the cluster


def test_a_batch_over_many_shards_reads_back_as_ingested(clustered) -> None:
    ledger, reader = clustered
    skus = [sku() for _ in range(60)]
    slots = {key_slot(ledger.projection.stock_key(s).encode()) for s in skus}
    assert len(slots) > 30  # the batch's script calls go to many slots on every node
    ledger.ingest(
        [ev(WAREHOUSE.id, s, "count", 10 + i) for i, s in enumerate(skus)]
        + [ev(STORE.id, s, "count", 3) for s in skus]
        + [ev(STORE.id, s, "sale", 1, minutes=1) for s in skus]
    )
    answers = reader.check(skus)
    assert [a.available for a in answers] == [10 + i + 2 for i in range(60)]
    assert ledger.projection.read([skus[0]])[skus[0]][STORE.id].on_hand == 2
    assert ledger.projection.memory_bytes() > 60 * 2 * 40  # every node's keys are counted


def test_holds_on_a_cluster_sell_the_last_unit_once(clustered) -> None:
    ledger, reader = clustered
    s = sku()
    ledger.ingest([ev(STORE.id, s, "count", 1)])
    desk = Reservations(ledger, reader)
    start = threading.Barrier(8)

    def attempt(_: int) -> str:
        start.wait()
        line = HoldLine(sku=s, quantity=1)
        return desk.hold(HoldRequest(id=uuid.uuid4().hex, lines=[line])).status

    try:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(attempt, range(8)))
    finally:
        desk.close()
    assert sorted(statuses) == ["held"] + ["refused"] * 7
    assert reader.check([s])[0].available == 0


def test_a_cluster_projection_is_rebuilt_and_reconciled_like_a_single_one(clustered) -> None:
    ledger, reader = clustered
    skus = [sku() for _ in range(40)]
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 5 + i) for i, s in enumerate(skus)])
    before = [a.available for a in reader.check(skus)]
    assert ledger.projection.wipe() >= len(skus) + 2  # positions, network and its version
    assert list(ledger.projection.keys()) == []  # from every node
    rebuild(ledger)
    assert [a.available for a in reader.check(skus)] == before
    assert reconcile(ledger).drifts == []


def test_a_node_that_fails_mid_write_is_written_through_the_cluster_client(
    clustered, monkeypatch
) -> None:
    ledger, reader = clustered
    skus = [sku() for _ in range(30)]

    def dropped(self, raise_on_error: bool = True):
        raise redis.exceptions.ConnectionError("the node went away")

    monkeypatch.setattr(redis.client.Pipeline, "execute", dropped)
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 4) for s in skus])
    monkeypatch.undo()
    assert [a.available for a in reader.check(skus)] == [4] * 30
