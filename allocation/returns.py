"""Returns: route each returned line to where it is worth most, net of what getting it there costs.

Destinations are locations with the ``returns`` capability. For each line the engine minimises
``transport + handling - value`` over them (a per-line choice, so enumeration is exact):

- transport: none when restocked at the drop-off store itself; from a drop-off store, the transfer
  network (``transfer_base + transfer_per_km * km``); from an address, a carrier parcel
  (``return_rules.carrier_base + carrier_per_km * km``) to a warehouse or returns centre (stores do
  not receive carrier returns).
- handling: ``return_rules.handling[type]``, or ``returns_centre_handling`` at a returns centre.
- value: what a unit sells for there (``resale_values``, else ``default_value``), times the
  quantity; opened items are worth ``opened_value_factor`` of it, damaged ones nothing and only a
  returns centre (a location flagged ``returns_centre``) takes them when there is one.

A location "sells" the item when its resale value is positive, so restocking at the drop-off store
wins exactly when it is allowed (``returns`` capability) and the item sells there enough to beat
the alternatives. Each choice is reported with its terms and a one-line reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from allocation.geo import haversine_km
from allocation.instance import DropOffStore, Instance, Location, ReturnLine

CONDITION_FACTOR = {"new": 1.0, "damaged": 0.0}


def _destinations(instance: Instance, line: ReturnLine) -> list[Location]:
    accepting = [loc for loc in instance.locations if "returns" in loc.capabilities]
    if isinstance(line.drop_off, DropOffStore):
        store = line.drop_off.store
        accepting = [loc for loc in accepting if loc.type != "store" or loc.id == store]
    else:
        accepting = [loc for loc in accepting if loc.type != "store"]
    if line.condition == "damaged":
        centres = [loc for loc in accepting if loc.returns_centre]
        return centres or accepting
    return accepting


def _origin(instance: Instance, line: ReturnLine) -> tuple[float, float]:
    if isinstance(line.drop_off, DropOffStore):
        store = next(loc for loc in instance.locations if loc.id == line.drop_off.store)
        return store.lat, store.lon
    return line.drop_off.lat, line.drop_off.lon


def _terms(instance: Instance, line: ReturnLine, places: list[Location]) -> dict[str, np.ndarray]:
    rules, rr = instance.rules, instance.return_rules
    lat, lon = _origin(instance, line)
    km = haversine_km(
        lat, lon, np.array([p.lat for p in places]), np.array([p.lon for p in places])
    )
    from_store = isinstance(line.drop_off, DropOffStore)
    on_the_spot = np.array([from_store and p.id == line.drop_off.store for p in places])
    if from_store:
        transport = rules.transfer_base + rules.transfer_per_km * km
    else:
        transport = rr.carrier_base + rr.carrier_per_km * km
    handling = (
        np.array(
            [
                rr.returns_centre_handling if p.returns_centre else rr.handling[p.type]
                for p in places
            ]
        )
        * line.quantity
    )
    values = {(v.location, v.sku): v.value for v in instance.resale_values}
    factor = CONDITION_FACTOR.get(line.condition, rr.opened_value_factor)
    unit_value = np.array([values.get((p.id, line.sku), rr.default_value) for p in places])
    return {
        "km": np.where(on_the_spot, 0.0, km),
        "transport": np.where(on_the_spot, 0.0, transport),
        "handling": handling,
        "value": unit_value * factor * line.quantity,
        "on_the_spot": on_the_spot,
    }


def _reason(line: ReturnLine, place: Location, terms: dict[str, np.ndarray], k: int) -> str:
    if terms["on_the_spot"][k]:
        return f"restocked at drop-off store {place.id}: it sells there, no transport"
    if line.condition == "damaged":
        return (
            f"damaged: sent to {'returns centre' if place.returns_centre else place.type} "
            f"{place.id} ({terms['km'][k]:.0f} km)"
        )
    return (
        f"sent to {place.type} {place.id} ({terms['km'][k]:.0f} km): best resale value net "
        "of transport and handling"
    )


def route_return(instance: Instance, line: ReturnLine) -> dict[str, Any]:
    places = _destinations(instance, line)
    answer: dict[str, Any] = {
        "id": line.id,
        "sku": line.sku,
        "quantity": line.quantity,
        "condition": line.condition,
    }
    if not places:
        return {**answer, "destination": None, "reason": "no location accepts returns"}
    terms = _terms(instance, line, places)
    net = terms["transport"] + terms["handling"] - terms["value"]
    k = int(np.argmin(net))
    return {
        **answer,
        "destination": places[k].id,
        "route": "restock at drop-off" if terms["on_the_spot"][k] else f"to {places[k].type}",
        "distance_km": round(float(terms["km"][k]), 4),
        "cost": round(float(terms["transport"][k] + terms["handling"][k]), 4),
        "value": round(float(terms["value"][k]), 4),
        "net_cost": round(float(net[k]), 4),
        "cost_breakdown": {
            "transport": round(float(terms["transport"][k]), 4),
            "handling": round(float(terms["handling"][k]), 4),
        },
        "reason": _reason(line, places[k], terms, k),
    }


def route_returns(instance: Instance) -> list[dict[str, Any]]:
    return [route_return(instance, line) for line in instance.returns]
