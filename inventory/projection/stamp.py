"""The projection's stamp as Redis holds it, and the server run it is compared with."""

from __future__ import annotations

from redis.cluster import RedisCluster

from inventory.projection.freshness import Stamp
from inventory.projection.store import Projection


def read_stamp(projection: Projection) -> Stamp | None:
    held = projection.redis.hgetall(projection.stamp_key)
    if not held:
        return None
    held = {_text(k): _text(v) for k, v in held.items()}
    return Stamp(held["run_id"], int(held["generation"]))


def server_run_id(projection: Projection) -> str:
    """The run of the server (every primary of a cluster): it changes when one restarts or
    fails over, which may lose acknowledged writes or bring back an old snapshot."""
    client = projection.redis
    if isinstance(client, RedisCluster):
        found = client.info("server", target_nodes=RedisCluster.PRIMARIES)
        return ",".join(sorted(_text(info["run_id"]) for info in found.values()))
    return _text(client.info("server")["run_id"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
