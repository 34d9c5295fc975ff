"""The Redis projection of positions and inbound supply: derived from SQL, rebuilt from it at will.

Key layout (every per-SKU key carries the `{sku}` hash tag, so one SKU lives on one cluster shard):
  <prefix>:g<N>:stk:{<sku>}   string the SKU's positions in generation N, one packed entry per
                              location (inventory.domain.records)
  <prefix>:g<N>:inb:{<sku>}   hash   "<location>|<expected_s>" -> units expected
  <prefix>:g<N>:inw:{<sku>}   string set when a writer replaced the SKU's inbound while N was being
                              built: the rebuild's older read of it is not loaded over it
  <prefix>:{net}              string JSON of the network (locations with their slots) and the policy
  <prefix>:{net}:ver          string version of that JSON, read on every request (the JSON only on change)
  <prefix>:{net}:gen          string the live generation N (absent: 0), read with the version
  <prefix>:{net}:building     string the generation a rebuild is writing, a lease that expires
  <prefix>:{net}:gens         string the last generation number given (numbers are never reused)
  <prefix>:{net}:stamp        hash   the live generation and the server run a rebuild loaded it on
                              (inventory.projection.freshness)
An entry is written only when its version is newer than the one held, so concurrent writers and late
retries can never move the projection backwards (inventory.projection.scripts). How a rebuild
writes a generation beside the live one and switches to it: inventory.projection.generations.

This adapter stays one class of about 400 lines because every read and write shares the key
layout, the two clients (text and binary) and the routing of calls to cluster slots; the Lua
scripts and the slot cache are modules of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot

from inventory.domain import records
from inventory.domain.projected import NO_CHANNELS, Projected
from inventory.projection import scripts
from inventory.projection.channels import ChannelBook, ChannelSource
from inventory.projection.generations import Generations
from inventory.projection.slots import SlotBook, SlotSource

_Call = tuple[list[str], list[bytes]]  # one script call: its keys (one cluster slot), its arguments
_GenCall = tuple[int, list[str], list[bytes]]  # a script call into one generation


class Projection:
    """Reads and writes of the projection. Never decides stock: SQL does.

    Entries name locations by slot. The writer side learns slots from `bind_slots` (the ledger
    binds its SQL table there); readers of availability take them from the published network instead.
    A slot no location holds reads back as "#<slot>", which no location id can be.
    """

    PIPELINE_KEYS = 500

    def __init__(self, client: redis.Redis, prefix: str = "dom") -> None:
        self.redis = client
        self.raw = _binary_twin(client)  # packed records are bytes, whatever `client` decodes
        self.prefix = prefix
        self.clustered = isinstance(client, RedisCluster)
        self.slots = SlotBook()
        self.channels = ChannelBook()
        self._gens: Generations | None = None  # as a write last saw the pointers
        self._read_live: int | None = None  # as a read last saw the live pointer
        self.behind = False  # a write failed: SQL may hold what this process did not project
        self._put_sha = self.raw.script_load(scripts.PUT)
        self._remove_sha = self.raw.script_load(scripts.REMOVE)

    def bind_slots(self, source: SlotSource) -> None:
        """Where writers learn locations' slots: the ledger binds its SQL table here."""
        self.slots.bind(source)

    def bind_channels(self, source: ChannelSource) -> None:
        """Where writers learn sales channels' numbers, for pool entries: the ledger's table."""
        self.channels.bind(source)

    def stock_key(self, sku: str, generation: int | None = None) -> str:
        """The key of `sku`'s positions in `generation` (None: the live one)."""
        return f"{self.prefix}:g{self._live(generation)}:stk:{{{sku}}}"

    def inbound_key(self, sku: str, generation: int | None = None) -> str:
        return f"{self.prefix}:g{self._live(generation)}:inb:{{{sku}}}"

    def inbound_mark_key(self, sku: str, generation: int) -> str:
        return f"{self.prefix}:g{generation}:inw:{{{sku}}}"

    @property
    def generation_key(self) -> str:
        return f"{self.prefix}:{{net}}:gen"

    @property
    def building_key(self) -> str:
        return f"{self.prefix}:{{net}}:building"

    @property
    def generation_counter_key(self) -> str:
        return f"{self.prefix}:{{net}}:gens"

    @property
    def stamp_key(self) -> str:
        return f"{self.prefix}:{{net}}:stamp"

    @property
    def network_key(self) -> str:
        return f"{self.prefix}:{{net}}"

    @property
    def network_version_key(self) -> str:
        """Tagged as the network is, so both are written together on one cluster shard."""
        return f"{self.prefix}:{{net}}:ver"

    @property
    def read_prefixes(self) -> tuple[str, ...]:
        """Prefixes of every key `read_with_inbound` reads (the network version, the live
        generation, positions and inbound in any generation), none a prefix of another: what a
        local copy of those reads asks Redis to track (inventory.projection.tracking)."""
        return (self.network_version_key, self.generation_key, f"{self.prefix}:g")

    # -- generations -------------------------------------------------------------------------
    def generations(self) -> Generations:
        """The pointers as they are now, remembered for the next write and read."""
        live, building = self.redis.mget(self.generation_key, self.building_key)
        self._gens = Generations.of(live, building)
        self._read_live = self._gens.live
        return self._gens

    def _live(self, generation: int | None = None) -> int:
        if generation is not None:
            return generation
        return self._read_live if self._read_live is not None else self.generations().live

    def _in_every_generation(self, write: Callable[[int, bool], int]) -> int:
        """Make `write(generation, being_built)` in every generation written now, again while
        the pointers move under it. Returns what it returned for the live generation."""
        gens = self._gens or self.generations()
        while True:
            done = {gen: write(gen, gen == gens.building) for gen in gens.written}
            seen = self.generations()
            if seen == gens:
                return done[gens.live]
            gens = seen

    # -- slots -------------------------------------------------------------------------------
    def slot_of(self, location: str, eager: bool = True) -> int:
        """`eager`: a miss always re-reads the slots (writers: the location exists in SQL)."""
        return self.slots.slot_of(location, eager)

    def location_of(self, slot: int) -> str:
        return self.slots.location_of(slot)

    # -- writes ------------------------------------------------------------------------------
    def put(self, positions: Mapping[tuple[str, str], Projected]) -> int:
        """Write positions (location, sku) -> value, each only if newer, one script call per
        group of keys on one cluster slot. Returns how many entries moved."""
        return self._write(positions, force=False)

    def overwrite(self, positions: Mapping[tuple[str, str], Projected]) -> int:
        """Write positions whatever version the projection holds: repairs of a drifted projection."""
        return self._write(positions, force=True)

    def put_in_generation(
        self, generation: int, positions: Mapping[tuple[str, str], Projected]
    ) -> int:
        """A rebuild's load: into the generation it builds only, each entry only if newer (what
        writers wrote there meanwhile is newer than the rebuild's read of SQL)."""
        return self._write_once(self._packed(positions), b"0", (generation,))[0]

    def remove(self, location: str, sku: str, channels: Iterable[str] = ()) -> int:
        """Drop a position's entry, and the pool entries of `channels` there, in every generation."""
        slot = self.slot_of(location)
        slots = [slot] + [records.pool_slot(slot, self.channels.number_of(c)) for c in channels]
        packed = b"".join(s.to_bytes(4, "little", signed=True) for s in slots)
        return self._in_every_generation(
            lambda gen, _: int(
                self._evalsha(
                    self._remove_sha, scripts.REMOVE, [self.stock_key(sku, gen)], [packed]
                )
            )
        )

    def _write(self, positions: Mapping[tuple[str, str], Projected], force: bool) -> int:
        """Into every generation written now, again where the pointers moved during the write."""
        packed, flag = self._packed(positions), b"1" if force else b"0"
        try:
            gens = self._gens or self.generations()
            while True:
                written, seen = self._write_once(packed, flag, gens.written)
                if seen == gens:
                    return written
                gens = seen
        except redis.RedisError:
            self.behind = True
            raise

    def _packed(self, positions: Mapping[tuple[str, str], Projected]) -> dict[str, bytes]:
        by_sku: dict[str, list[bytes]] = {}
        slot_of, number_of = self.slot_of, self.channels.number_of
        for (location, sku), value in positions.items():
            by_sku.setdefault(sku, []).append(value.pack(slot_of(location), number_of))
        return {sku: b"".join(entries) for sku, entries in by_sku.items()}

    def _write_once(
        self, packed: Mapping[str, bytes], flag: bytes, generations: tuple[int, ...]
    ) -> tuple[int, Generations]:
        """Write `generations` (entries moved in the first of them counted), then read the
        pointers: in the same pipeline on one server, after the writes on a cluster."""
        calls: list[_GenCall] = []
        for gen in generations:
            by_slot: dict[int, tuple[list[str], list[bytes]]] = {}
            for sku, entries in packed.items():
                key = self.stock_key(sku, gen)
                keys, args = by_slot.setdefault(self._slot(key), ([], []))
                keys.append(key)
                args.append(entries)
            calls += [
                (
                    gen,
                    keys[at : at + self.PIPELINE_KEYS],
                    [flag, *args[at : at + self.PIPELINE_KEYS]],
                )
                for keys, args in by_slot.values()
                for at in range(0, len(keys), self.PIPELINE_KEYS)
            ]
        first = generations[0]
        if self.clustered:
            replies = self._put_on_cluster([(keys, args) for _, keys, args in calls])
            return _counted(calls, replies, first), self.generations()
        try:
            pipe = self.raw.pipeline(transaction=False)
            for _, keys, args in calls:
                pipe.evalsha(self._put_sha, len(keys), *keys, *args)
            pipe.mget(self.generation_key, self.building_key)
            *replies, pointers = pipe.execute()
        except redis.exceptions.NoScriptError:  # the server restarted or was flushed: load again
            self._put_sha = self.raw.script_load(scripts.PUT)
            return self._write_once(packed, flag, generations)
        self._gens = Generations.of(*pointers)
        return _counted(calls, replies, first), self._gens

    def _put_on_cluster(self, calls: list[_Call]) -> list[int]:
        """One pipeline per node of the script calls of its slots (a cluster pipeline refuses
        scripts). A call the node turns away (resharding moved the slot, the script is not
        loaded there) goes again through the cluster client, which follows redirects."""
        by_node: dict[str, tuple[Any, list[int]]] = {}
        for at, (keys, _) in enumerate(calls):
            node = self.raw.get_node_from_key(keys[0])
            by_node.setdefault(node.name, (node, []))[1].append(at)
        written = [0] * len(calls)
        for node, its_calls in by_node.values():
            pipe = node.redis_connection.pipeline(transaction=False)
            for at in its_calls:
                keys, args = calls[at]
                pipe.evalsha(self._put_sha, len(keys), *keys, *args)
            try:
                replies = pipe.execute(raise_on_error=False)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
                replies = [error] * len(its_calls)  # a failover: the cluster client finds the node
            for at, reply in zip(its_calls, replies, strict=True):
                if isinstance(reply, Exception):
                    reply = self._evalsha(self._put_sha, scripts.PUT, *calls[at])
                written[at] = int(reply)
        return written

    def _evalsha(self, sha: str, script: str, keys: list[str], args: list[bytes]):
        try:
            return self.raw.evalsha(sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return self.raw.eval(script, len(keys), *keys, *args)

    def _slot(self, key: str) -> int:
        """Keys of one script call must share a slot on a cluster; a single server has one slot."""
        return key_slot(key.encode()) if self.clustered else 0

    # -- reads -------------------------------------------------------------------------------
    def read(self, skus: Iterable[str]) -> dict[str, dict[str, Projected]]:
        """Every position of `skus`, by location (for audits, reconciliation and tests)."""
        return self.read_with_version(dict.fromkeys(skus))[1]

    def read_with_version(
        self, wanted: Mapping[str, Sequence[str] | None]
    ) -> tuple[str | None, dict[str, dict[str, Projected]]]:
        """The network version and, per SKU, the positions at the named locations (None: all of
        them), in one round trip."""
        version, replies = self._read(
            lambda pipe, gen: [pipe.get(self.stock_key(sku, gen)) for sku in wanted]
        )
        found: dict[str, dict[str, Projected]] = {}
        for (sku, locations), raw in zip(wanted.items(), replies, strict=True):
            entries = records.unpack(raw)
            slots = entries["slot"]
            pooled = bool(len(slots)) and bool(slots.min() < 0)
            if locations is not None:
                at = records.locations_of(slots) if pooled else slots
                entries = entries[_one_of(at, self.slots.known_slots(locations))]
            found[sku] = self._positions(entries.tolist(), pooled)
        return version, found

    def _positions(self, entries: list[tuple], pooled: bool) -> dict[str, Projected]:
        """Positions by location from a record's entries; pool entries (negative slots) give
        what each channel holds there."""
        if not pooled:
            return {
                self.location_of(slot): Projected(ver, on_hand, reserved, safety, reported)
                for ver, slot, reported, on_hand, reserved, safety in entries
            }
        held: dict[int, dict[str, int]] = {}
        for _, slot, _, _, reserved, _ in entries:
            if slot < 0 and reserved:
                at, number = records.pool_of(slot)
                held.setdefault(at, {})[self.channels.name_of(number)] = reserved
        return {
            self.location_of(slot): Projected(
                ver, on_hand, reserved, safety, reported, held.get(slot, NO_CHANNELS)
            )
            for ver, slot, reported, on_hand, reserved, safety in entries
            if slot >= 0
        }

    def read_with_inbound(
        self, skus: list[str]
    ) -> tuple[str | None, dict[str, bytes | None], dict[str, dict[str, int]]]:
        """The network version, packed positions and inbound supply of `skus`, in one round trip."""

        def add(pipe: Any, gen: int) -> None:
            for sku in skus:
                pipe.get(self.stock_key(sku, gen))
                pipe.hgetall(self.inbound_key(sku, gen))

        version, replies = self._read(add)
        positions = {sku: replies[2 * i] for i, sku in enumerate(skus)}
        inbound = {sku: inbound_of(replies[1 + 2 * i]) for i, sku in enumerate(skus)}
        return version, positions, inbound

    def _read(self, add: Callable[[Any, int], object]) -> tuple[str | None, list]:
        """The network version and the replies of the reads `add` queues for the live generation,
        in one round trip; again in the new generation if a rebuild switched to it meanwhile."""
        live = self._live()
        while True:
            pipe = self.raw.pipeline(transaction=False)
            pipe.get(self.network_version_key)
            pipe.get(self.generation_key)  # a cluster pipeline refuses MGET
            add(pipe, live)
            version, seen, *replies = pipe.execute()
            if int(seen or 0) == live:
                return text_of(version), replies
            self._read_live = live = int(seen or 0)

    def stock_skus(self) -> Iterator[str]:
        """Every SKU the projection holds positions of."""
        head = f"{self.prefix}:g{self.generations().live}:stk:{{"
        for key in self.redis.scan_iter(match=f"{head}*", count=1000):
            yield text_of(key)[len(head) : -1]

    # -- network and inbound -----------------------------------------------------------------
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
        return text_of(blob), text_of(version)

    def set_inbound(self, sku: str, entries: Mapping[str, int]) -> None:
        """Replace the inbound supply of one SKU (entries: "<location>|<expected_s>" -> units)."""

        def replace(gen: int, being_built: bool) -> int:
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(self.inbound_key(sku, gen))
            if entries:
                pipe.hset(self.inbound_key(sku, gen), mapping=dict(entries))
            if being_built:  # newer than what the rebuild read: it must not load its own over it
                pipe.set(self.inbound_mark_key(sku, gen), 1)
            pipe.execute()
            return 0

        self._in_every_generation(replace)

    def load_inbound(self, generation: int, sku: str, entries: Mapping[str, int]) -> None:
        """A rebuild's load of one SKU's inbound, unless a writer replaced it meanwhile."""
        keys = [self.inbound_key(sku, generation), self.inbound_mark_key(sku, generation)]
        args = [str(part) for entry in entries.items() for part in entry]
        self.redis.eval(scripts.LOAD_INBOUND, len(keys), *keys, *args)

    # -- housekeeping ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the binary twin's connections (the caller owns and closes its own client)."""
        if self.raw is not self.redis:
            self.raw.close()  # a cluster client closes its nodes' connections with it
            if not isinstance(self.raw, RedisCluster):
                self.raw.connection_pool.disconnect()  # a pool passed in is not closed with it

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


def _counted(calls: list[_GenCall], replies: Iterable[int], generation: int) -> int:
    """Entries moved in one generation: a write into two counts its changes once."""
    return sum(int(r) for (gen, _, _), r in zip(calls, replies, strict=True) if gen == generation)


def _one_of(slots: np.ndarray, wanted: list[int]) -> np.ndarray:
    """Mask of `slots` in `wanted`: a hold names a location or two, for which one comparison each
    costs a few microseconds where np.isin's general method costs a hundred."""
    if len(wanted) > 8:
        return np.isin(slots, wanted)
    mask = np.zeros(len(slots), dtype=bool)
    for slot in wanted:
        mask |= slots == slot
    return mask


def _binary_twin(client: redis.Redis) -> redis.Redis:
    """A client of the same server that returns bytes, for the packed records."""
    if isinstance(client, RedisCluster):  # same nodes, credentials and TLS; bytes back
        nodes = [ClusterNode(node.host, node.port) for node in client.get_nodes()]
        kwargs = {**client.nodes_manager.connection_kwargs, "decode_responses": False}
        for where in ("host", "port", "startup_nodes"):
            kwargs.pop(where, None)
        return RedisCluster(startup_nodes=nodes, **kwargs)
    pool = client.connection_pool
    if not pool.connection_kwargs.get("decode_responses"):
        return client  # it already returns bytes
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )


def inbound_of(reply: Mapping[bytes, bytes]) -> dict[str, int]:
    """A SKU's inbound hash as read: "<location>|<expected_s>" -> units."""
    return {key.decode(): int(units) for key, units in reply.items()}


def text_of(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
