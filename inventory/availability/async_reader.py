"""The checkout reader for an asyncio server: the projection read without blocking the event loop
(inventory.projection.async_reads, with its local copy), the answer computed by
`AvailabilityReader.answer`, whose network view and sources it shares with the blocking reader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from inventory.availability.compute import SkuAvailability
from inventory.availability.reader import AvailabilityReader, unique_skus
from inventory.availability.sources import Query
from inventory.projection.async_reads import ProjectionReads


class AsyncAvailabilityReader:
    def __init__(self, reader: AvailabilityReader, reads: ProjectionReads) -> None:
        self.reader = reader
        self.reads = reads

    async def check(
        self,
        skus: Sequence[str],
        query: Query = Query(),
        detail: bool = False,
        quantities: Mapping[str, int] | None = None,
    ) -> list[SkuAvailability]:
        """As `AvailabilityReader.check`."""
        unique = unique_skus(skus)
        version, positions, inbound = await self.reads.read_with_inbound(unique)
        view = self.reader.cached_view(version)
        if view is None:
            view = self.reader.adopt_view(*await self.reads.network())
        return self.reader.answer(view, unique, positions, inbound, query, detail, quantities)

    async def explain(self, sku: str, query: Query = Query()) -> SkuAvailability:
        return (await self.check([sku], query, detail=True))[0]

    async def close(self) -> None:
        await self.reads.close()
