"""What one API process holds while it serves: the engine, the async Redis client, the gate, and
the checkout reader that reads the projection without blocking the event loop."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from api.access import Gate
from dom.bootstrap import Engine
from dom.embedded_redis import CLIENT_RETRY
from inventory import AsyncAvailabilityReader, AsyncReads, Endpoint, LocalCopy, ThreadedReads

REDIS_TIMEOUT_S = 5.0  # a Redis that does not answer in this long is away: 503, never a guess


@dataclass
class ApiState:
    engine: Engine
    redis: aioredis.Redis
    gate: Gate
    availability: AsyncAvailabilityReader

    async def close(self) -> None:
        await self.availability.close()
        await self.redis.aclose()


def async_redis(engine: Engine, decode_responses: bool = True) -> aioredis.Redis:
    """An async client of the same Redis server the engine projects to."""
    settings = engine.settings
    timeouts = {"socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S}
    if engine.embedded is not None:
        return aioredis.Redis(
            unix_socket_path=str(engine.embedded.socket_path),
            decode_responses=decode_responses,
            retry=CLIENT_RETRY,
            **timeouts,
        )
    if settings.redis_cluster:
        return aioredis.RedisCluster.from_url(settings.redis_url, decode_responses=decode_responses)  # type: ignore[return-value]
    return aioredis.Redis.from_url(
        settings.redis_url, decode_responses=decode_responses, **timeouts
    )


def checkout_reader(engine: Engine) -> AsyncAvailabilityReader:
    """Availability reads on their own binary client, answered from a local copy of the
    projection that Redis's invalidations vouch for (started here; a Redis Cluster or a TLS
    connection reads without one)."""
    projection = engine.ledger.projection
    if engine.settings.redis_cluster:
        return AsyncAvailabilityReader(engine.reader, ThreadedReads(projection))
    if engine.embedded is not None:
        endpoint: Endpoint | None = Endpoint(path=str(engine.embedded.socket_path))
    else:
        endpoint = Endpoint.of_url(engine.settings.redis_url)
    name = f"{projection.prefix}-projection-copy"
    copy = LocalCopy(endpoint, projection.read_prefixes, name) if endpoint is not None else None
    if copy is not None:
        copy.start()
    reads = AsyncReads(projection, async_redis(engine, decode_responses=False), copy)
    return AsyncAvailabilityReader(engine.reader, reads)


def open_state(engine: Engine) -> ApiState:
    """Called on the event loop, at start-up."""
    client = async_redis(engine)
    gate = Gate(
        engine.keys, client, engine.settings.redis_prefix, engine.settings.api_rate_limit_per_s
    )
    return ApiState(engine, client, gate, checkout_reader(engine))
