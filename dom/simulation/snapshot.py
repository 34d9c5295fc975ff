"""The instance a simulation replays: the network as the ledger holds it, the stock each
location may sell of the orders' SKUs now (on hand less reserved and safety), and the orders.
It is kept with the simulation, so a planner can run `dom allocate` on exactly what was
simulated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from dom.orders.routing import allocation_location
from inventory import Ledger, Location

MAX_SNAPSHOT_SKUS = 50_000


def instance(
    ledger: Ledger, orders: list[Mapping[str, Any]], rules: Mapping[str, Any]
) -> dict[str, Any]:
    """The `dom allocate` instance of `orders` against today's network and sellable stock,
    under `rules` (the baseline)."""
    skus = sorted({line["sku"] for order in orders for line in order["lines"]})
    if len(skus) > MAX_SNAPSHOT_SKUS:
        raise ValueError(f"a simulation covers {MAX_SNAPSHOT_SKUS:,} SKUs at most")
    locations = ledger.locations()
    stock = ledger.read(lambda conn: _sellable(conn, skus))
    return {
        "locations": [_location(location) for location in locations],
        "stock": [
            {"location": loc, "sku": sku, "available": units}
            for (loc, sku), units in sorted(stock.items())
            if units > 0
        ],
        "orders": list(orders),
        "rules": dict(rules),
    }


def _location(location: Location) -> dict[str, Any]:
    return allocation_location(location).model_dump(mode="json")


def _sellable(conn: Connection, skus: Iterable[str]) -> dict[tuple[str, str], int]:
    return {
        (p.location, p.sku): max(0, p.on_hand - p.reserved - p.safety)
        for p in Ledger.positions_in(conn, skus)
    }
