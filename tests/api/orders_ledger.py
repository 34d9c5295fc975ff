"""What the orders' end-to-end tests read to check the ledger under a served engine: positions
and holds from its SQL, positions from its projection (availability's explanation), and an
order's units line by line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import Engine, bindparam, create_engine, text

from tests.api.served import Served

GONE = {"rejected", "cancelled"}  # shipments that are history: what replaced them counts


@contextmanager
def database_of(api: Served) -> Iterator[Engine]:
    url = api.database_url
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    try:
        yield engine
    finally:
        engine.dispose()


POSITIONS = text(
    "SELECT location, sku, on_hand, reserved, safety FROM position WHERE sku IN :skus"
).bindparams(bindparam("skus", expanding=True))
HOLDS = text(
    "SELECT r.status, l.location, l.sku, l.quantity FROM reservation r "
    "JOIN reservation_line l ON l.reservation_id = r.id WHERE l.sku IN :skus"
).bindparams(bindparam("skus", expanding=True))


def ledger_of(api: Served, skus: list[str]) -> tuple[dict, Counter, Counter]:
    """From the server's SQL: each position's (on_hand, reserved, safety); the units its open
    holds (held, or consumed by an order and not yet shipped) keep there; holds by status."""
    with database_of(api) as sql, sql.connect() as conn:
        positions = {
            (r.location, r.sku): (r.on_hand, r.reserved, r.safety)
            for r in conn.execute(POSITIONS, {"skus": skus})
        }
        kept: Counter[tuple[str, str]] = Counter()
        statuses: Counter[str] = Counter()
        for hold in conn.execute(HOLDS, {"skus": skus}):
            statuses[hold.status] += 1
            if hold.status in ("held", "consumed"):
                kept[(hold.location, hold.sku)] += hold.quantity
    return positions, kept, statuses


def contributions(client: httpx.Client, item: str) -> list[dict]:
    """Every position of `item` as the projection has it: (location, on_hand, reserved, safety)."""
    answer = client.get(f"/v1/availability/{item}/explain")
    assert answer.status_code == 200, answer.text
    assert answer.json()["available"] >= 0
    return [
        {"location": p["location"], "sku": item, "on_hand": p["on_hand"],
         "reserved": p["reserved"], "safety": p["safety"]}
        for p in answer.json()["contributions"]
    ]  # fmt: skip


def line_units(order: dict) -> dict[str, tuple[int, int]]:
    """Each line's (units in live shipments, units backordered)."""
    shipped: Counter[str] = Counter()
    for shipment in order["shipments"]:
        if shipment["status"] not in GONE:
            for line in shipment["lines"]:
                shipped[line["id"]] += line["quantity"]
    waiting = Counter({b["id"]: b["quantity"] for b in order["backordered"]})
    return {line["id"]: (shipped[line["id"]], waiting[line["id"]]) for line in order["lines"]}
