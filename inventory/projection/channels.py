"""Sales channels' numbers as the projection knows them: pool entries name a channel by number
(inventory.domain.records.pool_slot). A cache of the ledger's table; numbers are given once and
never change, so it can only be incomplete, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from inventory.projection.slots import SLOT_REFRESH_S

# Every channel's number, after numbering those of the names given that have none.
ChannelSource = Callable[[Iterable[str]], Mapping[str, int]]


class ChannelBook:
    def __init__(self) -> None:
        self._source: ChannelSource | None = None
        self._number_of: dict[str, int] = {}
        self._name_of: dict[int, str] = {}
        self._refreshed_at = -SLOT_REFRESH_S

    def bind(self, source: ChannelSource) -> None:
        self._source = source
        self._number_of, self._name_of = {}, {}
        self._refreshed_at = -SLOT_REFRESH_S

    def number_of(self, channel: str) -> int:
        """The channel's number, given now by the ledger when it has none yet. The hold path
        asks before it writes a channel's first hold (inventory.holds.group), so that a write
        of the projection, which may come while this thread holds SQLite's write lock (a
        rebuild reading the ledger), finds the number already given."""
        number = self._number_of.get(channel)
        if number is None:
            self._learn(self._bound()([channel]))
            number = self._number_of[channel]
        return number

    def name_of(self, number: int) -> str:
        """The channel of a number; "#<number>" when the ledger has none (re-read at most once
        per SLOT_REFRESH_S: a stray number must not cost a read each time)."""
        name = self._name_of.get(number)
        if name is None:
            now = time.monotonic()
            if now - self._refreshed_at >= SLOT_REFRESH_S:
                self._refreshed_at = now
                self._learn(self._bound()(()))
            name = self._name_of.get(number, f"#{number}")
        return name

    def _bound(self) -> ChannelSource:
        if self._source is None:
            raise LookupError("this projection has no channel source: bind the ledger's first")
        return self._source

    def _learn(self, numbers: Mapping[str, int]) -> None:
        self._number_of = dict(numbers)
        self._name_of = {n: name for name, n in numbers.items()}
