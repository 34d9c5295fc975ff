"""Who may call: the bearer key, its scopes, and its rate, shared by every API process.

A key's secret is looked up in SQL once and then kept for KEY_CACHE_S. Revoking a key bumps a
generation counter in Redis; every request reads it in the same round trip that counts its rate
(one Lua script), so a revoked key is refused by every process at its next request. When Redis
is away the rate cannot be counted across processes and is not enforced, and a revocation
reaches the other processes within KEY_CACHE_S.
"""

from __future__ import annotations

import math
import time
from contextlib import suppress
from dataclasses import dataclass, field

import redis
import redis.asyncio as aioredis
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.problems import ProblemError
from dom.keys import ApiKey, KeyStore, generation_key

KEY_CACHE_S = 2.0
KEY_KEPT_WITHOUT_SQL_S = 300.0  # how long a known key is trusted while SQL cannot be asked
MAX_CACHED_KEYS = 10_000
RATE_WINDOW_S = 1

# KEYS[1] the key's counter for this window, KEYS[2] the keys' generation counter.
# ARGV[1] the key's limit in requests a window, ARGV[2] the window in ms.
# Returns {requests counted in this window, the generation}.
COUNT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {n, tonumber(redis.call('GET', KEYS[2]) or '0')}
"""


@dataclass
class Gate:
    keys: KeyStore
    redis: aioredis.Redis
    prefix: str
    default_rate_per_s: int
    _cache: dict[str, tuple[ApiKey | None, float]] = field(default_factory=dict)
    _generation: int = -1

    def __post_init__(self) -> None:
        self._count = self.redis.register_script(COUNT_SCRIPT)

    @property
    def generation_key(self) -> str:
        return generation_key(self.prefix)

    async def admit(self, secret: str | None, scopes: list[str]) -> ApiKey:
        """The caller's key if it may do what `scopes` name: 401 without a live key, 403 when
        the key lacks a scope, 429 past its rate."""
        if not secret:
            raise ProblemError(401, "unauthorised", "send an API key: Authorization: Bearer KEY",
                               {"WWW-Authenticate": "Bearer"})  # fmt: skip
        key = await self._find(secret)
        if key is not None and await self._count_rate(key):  # a key was revoked meanwhile
            key = await self._find(secret)
        if key is None:
            raise ProblemError(401, "unauthorised", "unknown or revoked API key",
                               {"WWW-Authenticate": 'Bearer error="invalid_token"'})  # fmt: skip
        missing = [scope for scope in scopes if not key.allows(scope)]
        if missing:
            raise ProblemError(403, "forbidden", f"this key lacks the scope {', '.join(missing)}")
        return key

    async def revoked(self) -> None:
        """Tell every process a key was revoked (after the revocation committed)."""
        self._cache.clear()
        with suppress(redis.RedisError):  # the other processes drop it within KEY_CACHE_S
            await self.redis.incr(self.generation_key)

    async def _find(self, secret: str) -> ApiKey | None:
        cached = self._cache.get(secret)
        now = time.monotonic()
        if cached is not None and now - cached[1] < KEY_CACHE_S:
            return cached[0]
        try:
            key = await run_in_threadpool(self.keys.find, secret)
        except SQLAlchemyError:
            # SQL is away: a key this process knew a moment ago still opens what needs no SQL
            # (availability reads only Redis), for KEY_KEPT_WITHOUT_SQL_S at most.
            if cached is not None and now - cached[1] < KEY_KEPT_WITHOUT_SQL_S:
                return cached[0]
            raise
        if len(self._cache) >= MAX_CACHED_KEYS:
            self._cache.clear()
        self._cache[secret] = (key, now)
        return key

    async def _count_rate(self, key: ApiKey) -> bool:
        """Count this request against the key's rate and refuse it past the limit. Returns
        whether keys were revoked since this process last looked (its cache is then cleared)."""
        limit = key.rate_per_s or self.default_rate_per_s
        window = int(time.time()) // RATE_WINDOW_S
        counter = f"{self.prefix}:rate:{key.id}:{window}"
        try:
            counted, generation = await self._count(
                keys=[counter, self.generation_key], args=[limit, RATE_WINDOW_S * 2000]
            )
        except redis.RedisError:
            return False  # not shared without Redis: not enforced
        if counted > limit:
            wait_s = max(1, math.ceil((window + 1) * RATE_WINDOW_S - time.time()))
            raise ProblemError(
                429, "rate-limited",
                f"this key may make {limit:,} requests a second; try again in {wait_s} s",
                {"Retry-After": str(wait_s)},
            )  # fmt: skip
        if generation == self._generation:
            return False
        self._cache.clear()
        self._generation = generation
        return True
