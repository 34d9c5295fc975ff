"""A position as the projection holds it: the value every reader and writer of the projection
shares. Pure: the Redis adapter (inventory.projection.store) translates it to bytes and back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from inventory.domain import records

NO_CHANNELS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Projected:
    """A position as the projection holds it.

    `by_channel`: the units each sales channel holds there (channel fences are counted against
    them, inventory.availability.sources). Read from the projection or SQL, it names every
    channel holding units; written after a transaction, the channels that transaction changed
    (or read). A channel it does not name is as an earlier value of the position had it: see
    `newest`.
    """

    version: int
    on_hand: int
    reserved: int
    safety: int
    reported_s: int
    by_channel: Mapping[str, int] = field(default_factory=lambda: NO_CHANNELS)

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.safety)

    def encode(self) -> str:
        """Readable form, for reports."""
        held = ",".join(f"{c}={n}" for c, n in sorted(self.by_channel.items()) if n)
        base = f"{self.version}:{self.on_hand}:{self.reserved}:{self.safety}:{self.reported_s}"
        return f"{base}:{held}" if held else base

    def pack(self, slot: int, number_of: Callable[[str], int] | None = None) -> bytes:
        """The position's entry, and with `number_of` (a channel's number) the pool entry of
        each channel it names (inventory.domain.records)."""
        entry = records.pack(
            slot, self.version, self.on_hand, self.reserved, self.safety, self.reported_s
        )
        if not self.by_channel or number_of is None:
            return entry
        pools = (
            records.pack(records.pool_slot(slot, number_of(channel)), self.version, 0, units, 0, 0)
            for channel, units in sorted(self.by_channel.items())
        )
        return entry + b"".join(pools)

    @classmethod
    def of(
        cls,
        version: int,
        on_hand: int,
        reserved: int,
        safety: int,
        reported_us: int | None,
        by_channel: Mapping[str, int] = NO_CHANNELS,
    ) -> Projected:
        """From the ledger's values: the projection keeps report times in whole seconds since the
        epoch, none before it (as its records do)."""
        seconds = max(0, reported_us or 0) // 1_000_000
        return cls(version, on_hand, reserved, safety, seconds, by_channel)


def newest(held: Projected | None, value: Projected) -> Projected:
    """Of two values of one position, the later (by version), still naming the channels only
    the earlier named: a transaction that changed no channel's units leaves them as they were."""
    if held is None:
        return value
    later, earlier = (value, held) if held.version < value.version else (held, value)
    missing = earlier.by_channel.keys() - later.by_channel.keys()
    if not missing:
        return later
    return replace(later, by_channel={**earlier.by_channel, **later.by_channel})
