"""The network's models: locations, safety stock rules, the availability policy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import Identifier, In, Out
from inventory import AvailabilityPolicy, LocationIn

MAX_LOCATIONS_PER_CALL = 10_000
MAX_SAFETY_RULES = 10_000
MAX_SAFETY_UNITS = 1_000_000_000


class LocationOut(Out):
    id: str
    type: Literal["warehouse", "store", "dropship"]
    lat: float
    lon: float
    capabilities: list[str]
    capacity_per_day: int
    lead_time_hours: float
    transfer_days: float
    active: bool
    region: str


class LocationsIn(In):
    locations: list[LocationIn] = Field(min_length=1, max_length=MAX_LOCATIONS_PER_CALL)


class WrittenOut(Out):
    written: int = Field(ge=0, description="rows created or changed")


class SafetyRuleIn(In):
    """A buffer of `units` kept from online sale where the rule applies; the most specific wins
    (location and SKU, SKU, location, location type, everywhere)."""

    units: int = Field(ge=0, le=MAX_SAFETY_UNITS)
    location_type: Literal["warehouse", "store", "dropship"] | None = None
    location: Identifier | None = None
    sku: Identifier | None = None


class SafetyRulesIn(In):
    rules: list[SafetyRuleIn] = Field(
        max_length=MAX_SAFETY_RULES, description="replaces every rule"
    )


class SafetyRuleOut(Out):
    units: int
    location_type: str | None
    location: str | None
    sku: str | None


class SafetyRulesOut(Out):
    rules: list[SafetyRuleOut]


class PolicyOut(Out):
    version: int | None = Field(description="the policy's version; null before any was set")
    policy: AvailabilityPolicy
