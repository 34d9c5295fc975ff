"""The local copy of projection reads (server-assisted client-side caching), on the real servers:
what another client writes is seen by the next read; a value that changed while its read was in
flight is never kept; a lost, silent or stopped Redis leaves nothing to answer from."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis
import redis.asyncio as aioredis

from inventory.ledger import Ledger
from inventory.projection.async_reads import AsyncReads
from inventory.projection.rebuild import rebuild
from inventory.projection.store import Projection
from inventory.projection.tracking import MISSING, Endpoint, LocalCopy
from inventory.sql.engine import open_engine
from tests.conftest import REDIS_URL
from tests.inventory.helpers import NETWORK, WAREHOUSE, ev, sku

VOUCHED_WITHIN_S = 10.0


def endpoint_of(client: redis.Redis) -> Endpoint:
    path = client.connection_pool.connection_kwargs.get("path")
    return Endpoint(path=path) if path else Endpoint.of_url(REDIS_URL)  # type: ignore[return-value]


def async_client(client: redis.Redis) -> aioredis.Redis:
    path = client.connection_pool.connection_kwargs.get("path")
    return aioredis.Redis(unix_socket_path=path) if path else aioredis.Redis.from_url(REDIS_URL)


@asynccontextmanager
async def reads_of(projection: Projection, **options: float) -> AsyncIterator[AsyncReads]:
    """Async reads of `projection` with a local copy, once Redis tracks for it."""
    name = f"test-copy-{uuid.uuid4().hex[:8]}"
    copy = LocalCopy(endpoint_of(projection.redis), projection.read_prefixes, name, **options)  # type: ignore[arg-type]
    copy.start()
    reads = AsyncReads(projection, async_client(projection.redis), copy)
    try:
        await vouched(copy)
        yield reads
    finally:
        await reads.close()


async def vouched(copy: LocalCopy) -> None:
    deadline = time.monotonic() + VOUCHED_WITHIN_S
    while not copy.vouched():
        assert time.monotonic() < deadline, "the copy never started tracking"
        await asyncio.sleep(0.02)


def copied(reads: AsyncReads, sku: str) -> object:
    copy, keys = reads.copy, reads.keys
    assert copy is not None
    live = copy.get(keys.generation_key)
    return MISSING if live is MISSING else copy.get(keys.stock_key(sku, live))  # type: ignore[arg-type]


def test_a_position_another_client_writes_is_seen_by_the_next_read(ledger):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])

    async def scenario() -> None:
        async with reads_of(ledger.projection) as reads:
            await reads.read_with_inbound([s])
            _, before, _ = await reads.read_with_inbound([s])
            assert copied(reads, s) == before[s]  # the second read came from the copy
            ledger.ingest([ev(WAREHOUSE.id, s, "count", 9, minutes=5)])  # its own client
            _, after, _ = await reads.read_with_inbound([s])
            assert after[s] == ledger.projection.read_with_inbound([s])[1][s] != before[s]

    asyncio.run(scenario())


def test_inbound_supply_another_client_replaces_is_seen_by_the_next_read(ledger):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 1)])

    async def scenario() -> None:
        async with reads_of(ledger.projection) as reads:
            for _ in range(2):
                assert (await reads.read_with_inbound([s]))[2][s] == {}
            ledger.projection.set_inbound(s, {f"{WAREHOUSE.id}|1900000000": 12})
            assert (await reads.read_with_inbound([s]))[2][s] == {f"{WAREHOUSE.id}|1900000000": 12}

    asyncio.run(scenario())


def test_a_rebuild_that_switches_generations_is_seen_by_the_next_read(ledger):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 4)])

    async def scenario() -> None:
        async with reads_of(ledger.projection) as reads:
            for _ in range(2):
                first = await reads.read_with_inbound([s])
            report = await asyncio.to_thread(rebuild, ledger)
            again = await reads.read_with_inbound([s])
            assert again == first  # the same positions, read from the new generation
            assert reads.copy.get(reads.keys.generation_key) == report.generation  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_a_value_changed_while_its_read_was_in_flight_is_not_kept(ledger):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    key = ledger.projection.stock_key(s)

    async def scenario() -> None:
        async with reads_of(ledger.projection) as reads:
            copy = reads.copy
            assert copy is not None
            fill = copy.begin()
            in_flight = await reads.client.get(key)
            heard = copy.heard
            ledger.ingest([ev(WAREHOUSE.id, s, "count", 8, minutes=5)])
            assert copy.vouched() and copy.heard > heard  # its announcement is here
            copy.end(fill, {key: in_flight})
            assert copy.get(key) is MISSING
            fill = copy.begin()
            copy.end(fill, {key: await reads.client.get(key)})  # nothing changed meanwhile
            assert copy.get(key) is not MISSING

    asyncio.run(scenario())


def test_a_killed_tracking_connection_drops_the_copy_until_tracking_again(ledger):
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])

    async def scenario() -> None:
        async with reads_of(ledger.projection) as reads:
            copy = reads.copy
            assert copy is not None
            for _ in range(2):
                await reads.read_with_inbound([s])
            assert copied(reads, s) is not MISSING
            killed = ledger.projection.redis.client_kill_filter(
                _id=next(
                    c["id"] for c in ledger.projection.redis.client_list() if c["name"] == copy.name
                )
            )
            assert killed == 1
            assert not copy.vouched() and len(copy) == 0 and copy.lost == 1
            await vouched(copy)  # it tracks again by itself, and fills afresh
            await reads.read_with_inbound([s])
            assert copied(reads, s) is not MISSING

    asyncio.run(scenario())


@pytest.fixture
def private_ledger(tmp_path):
    """A ledger on a Redis server of the test's own, which the test may pause or stop."""
    from dom import embedded_redis

    server = embedded_redis.start(tmp_path / "redis")
    client = server.client()
    ledger = Ledger(open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}"), Projection(client, "p"))
    ledger.upsert_locations(NETWORK)
    yield ledger, server
    ledger.close()
    client.close()
    server.close()


def test_a_redis_that_stops_leaves_nothing_to_answer_from(private_ledger):
    ledger, server = private_ledger
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 6)])

    async def scenario() -> None:
        async with reads_of(ledger.projection) as reads:
            for _ in range(2):
                await reads.read_with_inbound([s])
            server.close()
            with pytest.raises(redis.ConnectionError):
                await reads.read_with_inbound([s])
            assert reads.copy is not None and len(reads.copy) == 0

    asyncio.run(scenario())


def test_a_redis_that_falls_silent_leaves_nothing_to_answer_from(private_ledger):
    ledger, _ = private_ledger
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 6)])

    async def scenario() -> None:
        async with reads_of(ledger.projection, silent_after_s=0.4) as reads:
            copy = reads.copy
            assert copy is not None
            for _ in range(2):
                await reads.read_with_inbound([s])
            ledger.projection.redis.execute_command("CLIENT", "PAUSE", 2000, "ALL")
            await asyncio.sleep(0.6)  # PINGs go unanswered meanwhile
            assert not copy.vouched() and len(copy) == 0

    asyncio.run(scenario())
