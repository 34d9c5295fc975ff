"""The network: locations, safety stock rules and the availability policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AvailabilityReader, EngineDep, NetworkWriter
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.common import Identifier
from api.schemas.network import (
    LocationOut,
    LocationsIn,
    PolicyOut,
    SafetyRulesIn,
    SafetyRulesOut,
    WrittenOut,
)
from api.views import location_out, safety_rules_out
from dom import network
from inventory import AvailabilityPolicy, SafetyRule

router = APIRouter(prefix="/v1", tags=["network"], route_class=LimitedRoute)


@router.get("/locations", response_model=list[LocationOut], responses=responses())
def locations(engine: EngineDep, _: AvailabilityReader) -> list[LocationOut]:
    """Every location, active or not."""
    return [location_out(location) for location in engine.ledger.locations()]


@router.put("/locations", response_model=WrittenOut, responses=responses(413))
def upsert_locations(body: LocationsIn, engine: EngineDep, _: NetworkWriter) -> WrittenOut:
    """Create or update locations (by id); the network's new version is published at once."""
    written = engine.ledger.upsert_locations([item.to_location() for item in body.locations])
    return WrittenOut(written=written)


@router.get("/locations/{location_id:path}", response_model=LocationOut, responses=responses(404))
def location(
    location_id: Annotated[Identifier, Path()], engine: EngineDep, _: AvailabilityReader
) -> LocationOut:
    return location_out(network.find(engine.ledger, location_id))


@router.delete(
    "/locations/{location_id:path}", response_model=LocationOut, responses=responses(404)
)
def deactivate(
    location_id: Annotated[Identifier, Path()], engine: EngineDep, _: NetworkWriter
) -> LocationOut:
    """The location gives no more stock; its positions and history stay (PUT it active again)."""
    return location_out(network.deactivate(engine.ledger, location_id))


@router.get("/safety-rules", response_model=SafetyRulesOut, responses=responses())
def safety_rules(engine: EngineDep, _: AvailabilityReader) -> SafetyRulesOut:
    return safety_rules_out(engine.ledger.safety_rules())


@router.put("/safety-rules", response_model=WrittenOut, responses=responses())
def replace_safety_rules(body: SafetyRulesIn, engine: EngineDep, _: NetworkWriter) -> WrittenOut:
    """Replace every rule; each position's buffer follows at once. `written`: positions changed."""
    rules = [SafetyRule(r.units, r.location_type, r.location, r.sku) for r in body.rules]
    return WrittenOut(written=network.replace_safety_rules(engine.ledger, rules))


@router.get("/policy", response_model=PolicyOut, responses=responses())
def policy(engine: EngineDep, _: AvailabilityReader) -> PolicyOut:
    version, current = engine.ledger.versioned_policy()
    return PolicyOut(version=version, policy=current)


@router.put("/policy", response_model=PolicyOut, responses=responses())
def set_policy(body: AvailabilityPolicy, engine: EngineDep, _: NetworkWriter) -> PolicyOut:
    """A new version of the policy (fences, vendor trust, thresholds); the old ones are kept."""
    version = engine.ledger.set_policy(body)
    return PolicyOut(version=version, policy=body)
