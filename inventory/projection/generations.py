"""Generations of the projection: a rebuild writes a whole new one beside the live one, then one
pointer moves and readers see the new answers instead of the old, never a half-loaded projection.

Every per-SKU key names its generation (`<prefix>:g<N>:stk:{sku}`). Readers read the live pointer
in the pipeline that reads the SKUs' keys and read again if it moved. While a rebuild runs, writers
write both the live generation and the one being built, and read the pointers after each write:
pointers only ever move to generations never used before, so pointers seen unchanged after a write
were unchanged during it, and a write that saw them move is made again where they now point.
Pure: the adapter (inventory.projection.store) does the reading and writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OLD_GENERATION_GRACE_S = 5.0  # a pipeline of reads that began on the old one ends long before
BUILD_LEASE_S = 60.0  # a rebuild that stops renewing its lease for this long is abandoned


@dataclass(frozen=True, slots=True)
class Generations:
    """The live generation and the one being built, if any, as the pointers say."""

    live: int = 0
    building: int | None = None

    @property
    def written(self) -> tuple[int, ...]:
        """Where a write goes: the live generation and, during a rebuild, the one being built."""
        return (self.live,) if self.building is None else (self.live, self.building)

    @classmethod
    def of(cls, live: bytes | str | None, building: bytes | str | None) -> Generations:
        """From the pointers as read (absent: generation 0, nothing being built)."""
        return cls(int(live or 0), int(building) if building else None)


def generation_of(key: str, prefix: str) -> int | None:
    """The generation a key of this projection belongs to (None: a key of no generation)."""
    found = re.match(rf"{re.escape(prefix)}:g(\d+):", key)
    return int(found.group(1)) if found else None
