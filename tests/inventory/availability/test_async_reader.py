"""The async reader answers what the blocking reader answers, whichever way it reads: from the
local copy, from Redis each time, or through the blocking projection on a thread (a cluster)."""

from __future__ import annotations

import asyncio

from inventory.availability.async_reader import AsyncAvailabilityReader
from inventory.availability.sources import Query
from inventory.projection.async_reads import AsyncReads, ThreadedReads
from tests.inventory.availability.test_availability import stock
from tests.inventory.helpers import STORE, T0, sku
from tests.inventory.projection.test_local_copy import async_client, reads_of

QUERIES = [Query(), Query(quantity=4), Query(method="pickup", store=STORE.id, quantity=2)]


def answers(reader, skus: list[str]) -> list:
    return [reader.check(skus, query) for query in QUERIES]


def test_the_async_reader_answers_what_the_blocking_reader_answers(ledger, backend):
    skus = [sku(), sku(), sku()]
    stock(ledger, skus[0], dc=5, store=2, vendor=10)
    stock(ledger, skus[1], store=3)
    expected = answers(backend.reader, skus)

    async def scenario() -> None:
        projection = ledger.projection
        async with reads_of(projection) as copied:
            through = [
                copied,
                AsyncReads(projection, async_client(projection.redis)),
                ThreadedReads(projection),
            ]
            for reads in through:
                reader = AsyncAvailabilityReader(backend.reader, reads)
                for _ in range(2):  # the second time from the copy, where there is one
                    assert [await reader.check(skus, query) for query in QUERIES] == expected
                if reads is not copied:
                    await reads.close()

    asyncio.run(scenario())


def test_the_async_explanation_is_the_blocking_one(ledger, backend):
    s = sku()
    stock(ledger, s, dc=5, store=2)
    backend.reader.clock = lambda: T0

    async def scenario() -> None:
        reader = AsyncAvailabilityReader(backend.reader, ThreadedReads(ledger.projection))
        assert await reader.explain(s) == backend.reader.explain(s)

    asyncio.run(scenario())
