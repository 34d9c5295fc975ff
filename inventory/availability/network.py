"""The network blob the projection carries: locations and the availability policy, as one JSON."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from inventory.availability.policy import AvailabilityPolicy
from inventory.domain.model import Capability, Location, LocationType


@dataclass(frozen=True, slots=True)
class NetworkView:
    version: str
    locations: dict[str, Location]
    policy: AvailabilityPolicy
    slots: dict[str, int]  # location -> its slot in the projection's records
    channels: dict[int, str] = field(default_factory=dict)  # number -> the channel it names


def location_to_dict(location: Location) -> dict:
    return {
        "id": location.id,
        "type": location.type.value,
        "lat": location.lat,
        "lon": location.lon,
        "capabilities": sorted(c.value for c in location.capabilities),
        "capacity_per_day": location.capacity_per_day,
        "lead_time_hours": location.lead_time_hours,
        "transfer_days": location.transfer_days,
        "active": location.active,
        "region": location.region,
    }


def location_from_dict(data: dict) -> Location:
    return Location(
        id=data["id"],
        type=LocationType(data["type"]),
        lat=float(data["lat"]),
        lon=float(data["lon"]),
        capabilities=frozenset(Capability(c) for c in data.get("capabilities", ())),
        capacity_per_day=int(data.get("capacity_per_day", 1_000_000)),
        lead_time_hours=float(data.get("lead_time_hours", 24.0)),
        transfer_days=float(data.get("transfer_days", 2.0)),
        active=bool(data.get("active", True)),
        region=str(data.get("region", "")),
    )


def encode(
    locations: list[Location],
    policy: AvailabilityPolicy,
    slots: dict[str, int],
    channels: dict[str, int] | None = None,
) -> tuple[bytes, str]:
    """The blob and its version (a digest: the same network always has the same version).
    `channels`: sales channels' numbers, as pool entries name them (inventory.domain.records)."""
    body = {
        "channels": dict(channels or {}),
        "locations": [
            {**location_to_dict(loc), "slot": slots[loc.id]}
            for loc in sorted(locations, key=lambda x: x.id)
        ],
        "policy": policy.model_dump(mode="json"),
    }
    blob = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return blob, hashlib.sha256(blob).hexdigest()[:16]


def decode(blob: bytes | str, version: str) -> NetworkView:
    body = orjson.loads(blob)
    locations = {d["id"]: location_from_dict(d) for d in body["locations"]}
    slots = {d["id"]: int(d["slot"]) for d in body["locations"]}
    policy = AvailabilityPolicy.model_validate(body["policy"])
    channels = {int(n): name for name, n in body.get("channels", {}).items()}
    return NetworkView(version, locations, policy, slots, channels)
