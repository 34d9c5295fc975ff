"""What planners and operators change in the network: locations, safety stock, the policy.
Each change is recorded in SQL and published to the projection by the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from inventory import Ledger, Location, SafetyRule, UnknownLocation


def find(ledger: Ledger, location_id: str) -> Location:
    for location in ledger.locations():
        if location.id == location_id:
            return location
    raise UnknownLocation(f"no location {location_id!r}")


def deactivate(ledger: Ledger, location_id: str) -> Location:
    """A location that may no longer give stock; its positions and history stay."""
    location = find(ledger, location_id)
    if location.active:
        location = replace(location, active=False)
        ledger.upsert_locations([location])
    return location


def replace_safety_rules(ledger: Ledger, rules: Iterable[SafetyRule]) -> int:
    return ledger.set_safety_rules(list(rules))
