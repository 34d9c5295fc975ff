"""A drift: where the projection or a position disagrees with what the ledger says it should be."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Drift:
    kind: str  # projection | on_hand | reserved
    location: str
    sku: str
    ledger: int | None  # what SQL (or the history) says
    found: int | None  # what was found instead
    detail: str = ""
    version: int | None = None  # the position's version when it was checked
