"""Checkout's reads of the projection for an asyncio server: the keys and the one round trip of
`Projection.read_with_inbound` and `Projection.network`, on redis.asyncio, answered from a local
copy (inventory.projection.tracking) while Redis vouches for it.

A Redis Cluster is read through the projection's own client on a thread (`ThreadedReads`).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import redis.asyncio as aioredis

from inventory.projection.store import Projection, inbound_of, text_of
from inventory.projection.tracking import MISSING, LocalCopy

Read = tuple[str | None, dict[str, bytes | None], dict[str, dict[str, int]]]


class ProjectionReads(Protocol):
    async def read_with_inbound(self, skus: list[str]) -> Read: ...

    async def network(self) -> tuple[bytes | str | None, str | None]: ...

    async def close(self) -> None: ...


class AsyncReads:
    """`client` returns bytes; `keys` gives the key layout (none of its I/O is used here)."""

    def __init__(
        self, keys: Projection, client: aioredis.Redis, copy: LocalCopy | None = None
    ) -> None:
        self.keys = keys
        self.client = client
        self.copy = copy
        self._live = 0  # the live generation as last read

    async def read_with_inbound(self, skus: list[str]) -> Read:
        """The network version, packed positions and inbound supply of `skus`: from the copy
        when it holds them all, else in one round trip (kept in the copy for the next read)."""
        copy = self.copy
        if copy is None or not copy.vouched():
            return (await self._read(skus))[0]
        found = self._copied(copy, skus)
        if found is not None:
            return found
        fill = copy.begin()
        try:
            found, live = await self._read(skus)
        except BaseException:
            copy.abandon(fill)
            raise
        version, positions, inbound = found
        values: dict[str, object] = {
            self.keys.network_version_key: version,
            self.keys.generation_key: live,
        }
        for sku in skus:
            values[self.keys.stock_key(sku, live)] = positions[sku]
            values[self.keys.inbound_key(sku, live)] = inbound[sku]
        copy.end(fill, values)
        return found

    def _copied(self, copy: LocalCopy, skus: list[str]) -> Read | None:
        version, live = copy.get(self.keys.network_version_key), copy.get(self.keys.generation_key)
        if version is MISSING or live is MISSING:
            return None
        positions, inbound = {}, {}
        for sku in skus:
            stock = copy.get(self.keys.stock_key(sku, live))  # type: ignore[arg-type]
            supply = copy.get(self.keys.inbound_key(sku, live))  # type: ignore[arg-type]
            if stock is MISSING or supply is MISSING:
                return None
            positions[sku], inbound[sku] = stock, supply
        return version, positions, inbound  # type: ignore[return-value]

    async def _read(self, skus: list[str]) -> tuple[Read, int]:
        """As Projection._read: the version and the live generation with the SKUs' keys in that
        generation, in one round trip; again if a rebuild switched generations meanwhile."""
        live, keys = self._live, self.keys
        while True:
            pipe = self.client.pipeline(transaction=False)
            pipe.get(keys.network_version_key)
            pipe.get(keys.generation_key)
            for sku in skus:
                pipe.get(keys.stock_key(sku, live))
                pipe.hgetall(keys.inbound_key(sku, live))
            version, seen, *replies = await pipe.execute()
            if int(seen or 0) == live:
                break
            self._live = live = int(seen or 0)
        positions = {sku: replies[2 * i] for i, sku in enumerate(skus)}
        inbound = {sku: inbound_of(replies[1 + 2 * i]) for i, sku in enumerate(skus)}
        return (text_of(version), positions, inbound), live

    async def network(self) -> tuple[bytes | None, str | None]:
        """The network blob and its version, read together."""
        pipe = self.client.pipeline(transaction=True)
        pipe.get(self.keys.network_key)
        pipe.get(self.keys.network_version_key)
        blob, version = await pipe.execute()
        return blob, text_of(version)

    async def close(self) -> None:
        if self.copy is not None:
            await self.copy.close()
        await self.client.aclose()


class ThreadedReads:
    """The projection's own (blocking) reads on a thread: for a Redis Cluster."""

    def __init__(self, projection: Projection) -> None:
        self.projection = projection

    async def read_with_inbound(self, skus: list[str]) -> Read:
        return await asyncio.to_thread(self.projection.read_with_inbound, skus)

    async def network(self) -> tuple[bytes | str | None, str | None]:
        return await asyncio.to_thread(self.projection.network)

    async def close(self) -> None:
        return None
