"""A generation being built: its lease, its switch to live, and the expiry of the ones left behind.

The lease is what writers see to write the new generation too; a rebuild that stops renewing it
(its process died) loses it, writers stop writing there, and its switch is refused, so a generation
that missed writes never goes live. A generation no longer live expires after a grace period, so a
reader whose pipeline began on it still finds it whole.
"""

from __future__ import annotations

import time

from inventory.projection import scripts
from inventory.projection.generations import (
    BUILD_LEASE_S,
    OLD_GENERATION_GRACE_S,
    generation_of,
)
from inventory.projection.store import Projection

WAIT_POLL_S = 0.05
EXPIRE_CHUNK_KEYS = 1000


class RebuildAbandoned(RuntimeError):
    """The lease lapsed during the load (writers stopped writing the new generation)."""


def begin(projection: Projection, grace_s: float = OLD_GENERATION_GRACE_S) -> int:
    """Take the lease of a new generation (after a rebuild already running ends) and let what
    earlier rebuilds abandoned expire. Returns the generation to build."""
    deadline = time.monotonic() + BUILD_LEASE_S
    while not (generation := _pointers(projection, scripts.BEGIN, _ms(BUILD_LEASE_S))):
        if time.monotonic() > deadline:
            raise TimeoutError("another rebuild holds the projection's lease")
        time.sleep(WAIT_POLL_S)
    projection.generations()  # this process's writers write the new generation from now on
    expire_others(projection, {projection.generations().live, generation}, grace_s)
    return generation


def renew(projection: Projection, generation: int) -> None:
    if not _pointers(projection, scripts.RENEW, generation, _ms(BUILD_LEASE_S)):
        raise RebuildAbandoned(f"generation {generation} lost its lease while it was built")


def switch(
    projection: Projection, generation: int, run_id: str, grace_s: float = OLD_GENERATION_GRACE_S
) -> int:
    """Make `generation` the live one, at once for every reader, stamped with the server run
    (`run_id`, read before the load) it was built on; the old one expires after the grace.
    Returns how many keys were set to expire."""
    old = _pointers(projection, scripts.SWITCH, generation, run_id)
    if old < 0:
        raise RebuildAbandoned(f"generation {generation} lost its lease before its switch")
    projection.generations()
    return expire(projection, _keys_of(projection, f"g{old}:*"), grace_s)


def abandon(projection: Projection, generation: int) -> None:
    """Give up a failed build: writers stop writing it, its keys expire."""
    _pointers(projection, scripts.RELEASE, generation)
    projection.generations()
    expire(projection, _keys_of(projection, f"g{generation}:*"), 0.0)


def expire_others(projection: Projection, keep: set[int], grace_s: float) -> int:
    """Set every key of a generation not in `keep` to expire after `grace_s`: only while holding
    the lease, or a rebuild that began meanwhile would lose its keys."""
    prefix = projection.prefix
    keys = [k for k in _keys_of(projection, "g*") if generation_of(k, prefix) not in keep]
    return expire(projection, keys, grace_s)


def expire(projection: Projection, keys: list[str], grace_s: float) -> int:
    for at in range(0, len(keys), EXPIRE_CHUNK_KEYS):
        pipe = projection.redis.pipeline(transaction=False)
        for key in keys[at : at + EXPIRE_CHUNK_KEYS]:
            pipe.pexpire(key, max(1, _ms(grace_s)))
        pipe.execute()
    return len(keys)


def _keys_of(projection: Projection, pattern: str) -> list[str]:
    match = f"{projection.prefix}:{pattern}"
    keys = projection.redis.scan_iter(match=match, count=1000)
    return [k.decode() if isinstance(k, bytes) else k for k in keys]


def _pointers(projection: Projection, script: str, *args: int | str) -> int:
    keys = [
        projection.building_key,
        projection.generation_key,
        projection.generation_counter_key,
        projection.stamp_key,
    ]
    return int(projection.redis.eval(script, len(keys), *keys, *args))


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
