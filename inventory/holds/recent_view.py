"""The hold writer's recent view of the projection: what it last read of each SKU, with the
positions its own commits wrote laid over it. Pure: no I/O.

A hot SKU is held hundreds of times a second, and reading its record from Redis for every group of
holds cost more than deciding the group. The view only ever proposes: SQL's conditional writes
grant the units, and the writer reads the projection afresh before it refuses anyone, so a view
that missed someone else's change costs time, never stock and never a wrong "no".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from inventory.domain.projected import Projected, newest

DEFAULT_TTL_S = 0.05  # a proposal older than this is read again; feeds report far less often
MAX_ENTRIES = 10_000  # a cold SKU is read once per group anyway: keep the view small
Wanted = Mapping[str, Sequence[str] | None]  # sku -> the locations asked for (None: all)
Found = dict[str, dict[str, Projected]]  # sku -> location -> position
_Key = tuple[str, tuple[str, ...] | None]


class RecentView:
    """Answers a group's read from memory when every SKU of it was read within `ttl_s`, under the
    same network version; otherwise the caller reads Redis and remembers what it got.

    Not thread-safe: one writer thread owns it.
    """

    def __init__(
        self, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[_Key, tuple[float, str | None, dict[str, Projected]]] = {}
        self._by_sku: dict[str, set[_Key]] = {}

    def get(self, wanted: Wanted) -> tuple[str | None, Found] | None:
        """The network version and positions of `wanted` as remembered, or None if any is missing,
        too old, or of another network version."""
        oldest = self._clock() - self.ttl_s
        version: str | None = None
        found: Found = {}
        for sku, locations in wanted.items():
            entry = self._entries.get(_key(sku, locations))
            if entry is None or entry[0] < oldest:
                return None
            if found and entry[1] != version:
                return None
            version = entry[1]
            found[sku] = dict(entry[2])  # the caller may not change what is remembered
        return version, found

    def remember(self, wanted: Wanted, version: str | None, found: Found) -> None:
        """Keep a fresh read of `wanted` (as Projection.read_with_version gave it)."""
        if len(wanted) > MAX_ENTRIES:  # a group this wide is not a hot SKU: nothing to keep
            return
        now = self._clock()
        if len(self._entries) + len(wanted) > MAX_ENTRIES:
            self._drop_older_than(now - self.ttl_s)
            if len(self._entries) + len(wanted) > MAX_ENTRIES:
                self.clear()
        for sku, locations in wanted.items():
            key = _key(sku, locations)
            self._entries[key] = (now, version, dict(found.get(sku, {})))
            self._by_sku.setdefault(sku, set()).add(key)

    def lay_over(self, changed: Mapping[tuple[str, str], Projected]) -> None:
        """Put committed positions into every remembered read that covers them, each only where it
        is newer than what the read saw (the projection may already be ahead of this commit)."""
        for (location, sku), value in changed.items():
            for key in self._by_sku.get(sku, ()):
                asked = key[1]
                if asked is not None and location not in asked:
                    continue
                positions = self._entries[key][2]
                positions[location] = newest(positions.get(location), value)

    def forget(self, skus: Sequence[str]) -> None:
        """Drop what is remembered of `skus`: SQL disagreed with it."""
        for sku in skus:
            for key in self._by_sku.pop(sku, ()):
                self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self._by_sku.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop_older_than(self, oldest: float) -> None:
        stale = [key for key, (at, _, _) in self._entries.items() if at < oldest]
        for key in stale:
            del self._entries[key]
            keys = self._by_sku[key[0]]
            keys.discard(key)
            if not keys:
                del self._by_sku[key[0]]


def _key(sku: str, locations: Sequence[str] | None) -> _Key:
    return sku, None if locations is None else tuple(sorted(set(locations)))
