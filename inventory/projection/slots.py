"""Location slots as the projection knows them: the ledger gives each location a slot once, and
packed entries name locations by slot. A cache of the ledger's table, re-read on a miss.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

SLOT_REFRESH_S = 1.0  # a reader's miss re-reads the slots at most this often
SlotSource = Callable[[], Mapping[str, int]]


class UnknownLocation(LookupError):
    pass


class SlotBook:
    """Slots are given once and never change, so this cache can only be incomplete, never wrong.
    A slot no location holds reads back as "#<slot>", which no location id can be."""

    def __init__(self) -> None:
        self._slot_source: SlotSource | None = None
        self._slot_of: dict[str, int] = {}
        self._location_of: dict[int, str] = {}
        self._refreshed_at = -SLOT_REFRESH_S

    def bind(self, source: SlotSource) -> None:
        self._slot_source = source
        self._slot_of, self._location_of = {}, {}
        self._refreshed_at = -SLOT_REFRESH_S

    def slot_of(self, location: str, eager: bool = True) -> int:
        """`eager`: a miss always re-reads the slots (writers: the location exists in SQL)."""
        slot = self._slot_of.get(location)
        if slot is None:
            if location.startswith("#") and location[1:].isdigit():
                return int(location[1:])
            self._refresh_slots(eager)
            slot = self._slot_of.get(location)
            if slot is None:
                raise UnknownLocation(f"location {location!r} has no slot in the ledger")
        return slot

    def location_of(self, slot: int) -> str:
        location = self._location_of.get(slot)
        if location is None:
            self._refresh_slots(eager=False)
            location = self._location_of.get(slot, f"#{slot}")
        return location

    def known_slots(self, locations: Sequence[str]) -> list[int]:
        known = []
        for location in locations:
            try:
                known.append(self.slot_of(location, eager=False))
            except UnknownLocation:
                continue  # a location the ledger does not have holds nothing here
        return known

    def _refresh_slots(self, eager: bool) -> None:
        """Slots are given once and never change, so a cache can only be incomplete, never wrong.
        A reader's miss re-reads them at most once per SLOT_REFRESH_S: names no location has (a
        stray slot, a mistyped location) must not cost a read of the ledger each time."""
        if self._slot_source is None:
            raise UnknownLocation("this projection has no slot source: bind the ledger's first")
        now = time.monotonic()
        if not eager and now - self._refreshed_at < SLOT_REFRESH_S:
            return
        self._refreshed_at = now
        slot_of = dict(self._slot_source())
        self._slot_of, self._location_of = slot_of, {s: loc for loc, s in slot_of.items()}
