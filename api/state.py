"""What one API process holds while it serves: the engine, the async Redis client, the gate."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from api.access import Gate
from dom.bootstrap import Engine
from dom.embedded_redis import CLIENT_RETRY


@dataclass
class ApiState:
    engine: Engine
    redis: aioredis.Redis
    gate: Gate

    async def close(self) -> None:
        await self.redis.aclose()


def async_redis(engine: Engine) -> aioredis.Redis:
    """An async client of the same Redis server the engine projects to."""
    settings = engine.settings
    if engine.embedded is not None:
        return aioredis.Redis(
            unix_socket_path=str(engine.embedded.socket_path),
            decode_responses=True,
            retry=CLIENT_RETRY,
        )
    if settings.redis_cluster:
        return aioredis.RedisCluster.from_url(settings.redis_url, decode_responses=True)  # type: ignore[return-value]
    return aioredis.Redis.from_url(settings.redis_url, decode_responses=True)


def open_state(engine: Engine) -> ApiState:
    client = async_redis(engine)
    gate = Gate(
        engine.keys, client, engine.settings.redis_prefix, engine.settings.api_rate_limit_per_s
    )
    return ApiState(engine, client, gate)
