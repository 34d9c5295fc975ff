"""A position as the projection holds it: the value every reader and writer of the projection
shares. Pure: the Redis adapter (inventory.projection.store) translates it to bytes and back.
"""

from __future__ import annotations

from dataclasses import dataclass

from inventory.domain import records


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
        """Readable form, for reports."""
        return f"{self.version}:{self.on_hand}:{self.reserved}:{self.safety}:{self.reported_s}"

    def pack(self, slot: int) -> bytes:
        return records.pack(
            slot, self.version, self.on_hand, self.reserved, self.safety, self.reported_s
        )

    @classmethod
    def of(
        cls, version: int, on_hand: int, reserved: int, safety: int, reported_us: int | None
    ) -> Projected:
        """From the ledger's values: the projection keeps report times in whole seconds since the
        epoch, none before it (as its records do)."""
        return cls(version, on_hand, reserved, safety, max(0, reported_us or 0) // 1_000_000)
