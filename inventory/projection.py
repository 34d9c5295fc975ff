"""The Redis projection of positions and inbound supply: derived from SQL, rebuilt from it at will.

Key layout (every per-SKU key carries the `{sku}` hash tag, so one SKU lives on one cluster shard):
  <prefix>:pos:{<sku>}   hash  location -> "version:on_hand:reserved:safety:reported_s"
  <prefix>:inb:{<sku>}   hash  "<location>|<expected_s>" -> units expected
  <prefix>:net           string JSON of the network and the availability policy
  <prefix>:net:ver       string version of that JSON, read on every request (the JSON only on change)
A position is written only when its version is newer than the one held, so concurrent writers
and late retries can never move the projection backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

# KEYS[i] = pos:{sku}; ARGV[i] = that key's "location=version:on_hand:reserved:safety:reported_s"
# lines. Writes each field whose version is newer than the one stored; returns how many were
# written. All keys of one call share a cluster slot; fields are packed in one argument per key
# because packing arguments costs the client more than the script costs the server.
_PUT_IF_NEWER = """
local written = 0
for i, key in ipairs(KEYS) do
  for field, value in string.gmatch(ARGV[i], '([^=\\n]+)=([^\\n]+)') do
    local current = redis.call('HGET', key, field)
    if (not current) or tonumber(string.match(current, '^(%d+)')) < tonumber(string.match(value, '^(%d+)')) then
      redis.call('HSET', key, field, value)
      written = written + 1
    end
  end
end
return written
"""


@dataclass(frozen=True, slots=True)
class Projected:
    """A position as the projection holds it."""

    version: int
    on_hand: int
    reserved: int
    safety: int
    reported_s: int

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety)

    def encode(self) -> str:
        return f"{self.version}:{self.on_hand}:{self.reserved}:{self.safety}:{self.reported_s}"

    @classmethod
    def of(
        cls, version: int, on_hand: int, reserved: int, safety: int, reported_us: int | None
    ) -> Projected:
        """From the ledger's values: the projection keeps report times in whole seconds."""
        return cls(version, on_hand, reserved, safety, (reported_us or 0) // 1_000_000)

    @classmethod
    def decode(cls, raw: str) -> Projected:
        v, o, r, s, t = raw.split(":")
        return cls(int(v), int(o), int(r), int(s), int(t))


class Projection:
    """Reads and writes of the projection. Never decides stock: SQL does."""

    PIPELINE_KEYS = 500

    def __init__(self, client: redis.Redis, prefix: str = "dom") -> None:
        self.redis = client
        self.prefix = prefix
        self.clustered = isinstance(client, RedisCluster)
        self._put_sha = client.script_load(_PUT_IF_NEWER)

    def pos_key(self, sku: str) -> str:
        return f"{self.prefix}:pos:{{{sku}}}"

    def inbound_key(self, sku: str) -> str:
        return f"{self.prefix}:inb:{{{sku}}}"

    @property
    def network_key(self) -> str:
        return f"{self.prefix}:net"

    def put(self, positions: Mapping[tuple[str, str], Projected]) -> None:
        """Write positions (location, sku) -> value, each only if newer, one script call per SKU."""
        by_sku: dict[str, list[str]] = {}
        for (location, sku), value in positions.items():
            by_sku.setdefault(sku, []).append(f"{location}={value.encode()}")
        by_slot: dict[int, tuple[list[str], list[str]]] = {}
        for sku, fields in by_sku.items():
            key = self.pos_key(sku)
            keys, args = by_slot.setdefault(self._slot(key), ([], []))
            keys.append(key)
            args.append("\n".join(fields))
        calls = [
            (keys[start : start + self.PIPELINE_KEYS], args[start : start + self.PIPELINE_KEYS])
            for keys, args in by_slot.values()
            for start in range(0, len(keys), self.PIPELINE_KEYS)
        ]
        try:
            self._evalsha_all(calls)
        except redis.exceptions.NoScriptError:  # the server restarted or was flushed: load it again
            self._put_sha = self.redis.script_load(_PUT_IF_NEWER)
            self._evalsha_all(calls)

    def _evalsha_all(self, calls: list[tuple[list[str], list[str]]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self._put_sha, len(keys), *keys, *args)
        pipe.execute()

    def _slot(self, key: str) -> int:
        """Keys of one script call must share a slot on a cluster; a single server has one slot."""
        return key_slot(key.encode()) if self.clustered else 0

    def read(self, skus: Iterable[str]) -> dict[str, dict[str, Projected]]:
        skus = list(skus)
        pipe = self.redis.pipeline(transaction=False)
        for sku in skus:
            pipe.hgetall(self.pos_key(sku))
        return {
            sku: {loc: Projected.decode(raw) for loc, raw in fields.items()}
            for sku, fields in zip(skus, pipe.execute(), strict=True)
        }

    def read_with_version(
        self, wanted: Mapping[str, Sequence[str] | None]
    ) -> tuple[str | None, dict[str, dict[str, Projected]]]:
        """The network version and, per SKU, the positions at the named locations (None: all of
        them), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.network_version_key)
        for sku, locations in wanted.items():
            if locations is None:
                pipe.hgetall(self.pos_key(sku))
            else:
                pipe.hmget(self.pos_key(sku), list(locations))
        version, *replies = pipe.execute()
        found: dict[str, dict[str, Projected]] = {}
        for (sku, locations), reply in zip(wanted.items(), replies, strict=True):
            pairs = reply.items() if locations is None else zip(locations, reply, strict=True)
            found[sku] = {loc: Projected.decode(raw) for loc, raw in pairs if raw is not None}
        return version, found

    def read_with_inbound(
        self, skus: list[str]
    ) -> tuple[str | None, dict[str, dict[str, str]], dict[str, dict[str, int]]]:
        """The network version, raw positions and inbound supply of `skus`, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.network_version_key)
        for sku in skus:
            pipe.hgetall(self.pos_key(sku))
            pipe.hgetall(self.inbound_key(sku))
        replies = pipe.execute()
        positions = {sku: replies[1 + 2 * i] for i, sku in enumerate(skus)}
        inbound = {
            sku: {k: int(v) for k, v in replies[2 + 2 * i].items()} for i, sku in enumerate(skus)
        }
        return replies[0], positions, inbound

    @property
    def network_version_key(self) -> str:
        return f"{self.prefix}:net:ver"

    def put_network(self, blob: str, version: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.network_key, blob)
        pipe.set(self.network_version_key, version)
        pipe.execute()

    def network(self) -> tuple[str | None, str | None]:
        """The network blob and its version, read together."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.get(self.network_key)
        pipe.get(self.network_version_key)
        blob, version = pipe.execute()
        return blob, version

    def set_inbound(self, sku: str, entries: Mapping[str, int]) -> None:
        """Replace the inbound supply of one SKU (entries: "<location>|<expected_s>" -> units)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.inbound_key(sku))
        if entries:
            pipe.hset(self.inbound_key(sku), mapping=dict(entries))
        pipe.execute()

    def keys(self) -> Iterator[str]:
        yield from self.redis.scan_iter(match=f"{self.prefix}:*", count=1000)

    def wipe(self) -> int:
        """Delete every key of this projection (and nothing outside its prefix)."""
        removed = 0
        for chunk in _chunks(list(self.keys()), 1000):
            removed += self.redis.unlink(*chunk)
        return removed

    def memory_bytes(self) -> int:
        """Bytes the projection's own keys take in Redis (MEMORY USAGE of each key, summed)."""
        total = 0
        for chunk in _chunks(list(self.keys()), 1000):
            pipe = self.redis.pipeline(transaction=False)
            for key in chunk:
                pipe.memory_usage(key, samples=0)
            total += sum(size or 0 for size in pipe.execute())
        return total


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
