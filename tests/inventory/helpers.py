"""Small builders shared by the inventory tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from inventory.domain.model import Capability, Location, LocationType

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
C = Capability

WAREHOUSE = Location(
    "DC-LYON",
    LocationType.warehouse,
    45.76,
    4.84,
    frozenset({C.ship, C.transfer, C.returns}),
    lead_time_hours=24,
    transfer_days=2,
)
STORE = Location(
    "ST-PARIS",
    LocationType.store,
    48.86,
    2.35,
    frozenset({C.ship, C.pickup, C.returns}),
    capacity_per_day=40,
    lead_time_hours=4,
    transfer_days=1,
)
STORE_NO_SHIP = Location(
    "ST-NICE", LocationType.store, 43.70, 7.27, frozenset({C.pickup, C.returns}), lead_time_hours=2
)
VENDOR = Location(
    "VD-001", LocationType.dropship, 47.2, -1.55, frozenset({C.ship}), lead_time_hours=72
)
NETWORK = [WAREHOUSE, STORE, STORE_NO_SHIP, VENDOR]


def sku() -> str:
    """A fresh SKU per test, so tests sharing a server never collide."""
    return f"SKU-{uuid.uuid4().hex[:10]}"


def ev(
    location: str, sku: str, kind: str, qty: int, minutes: float = 0, eid: str | None = None
) -> dict:
    return {
        "event_id": eid or uuid.uuid4().hex,
        "location": location,
        "sku": sku,
        "type": kind,
        "quantity": qty,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "source": "test",
    }


def outcomes(result) -> list[str]:
    """The outcome of each event of an ingested batch, in the batch's order."""
    return [v.outcome.value for _, v in result.verdicts]
