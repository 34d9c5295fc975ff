"""Allocating a plan's shipments in the ledger, inside the transaction that records the order:
each shipment is one hold pinned to its location, with no expiry, consumed by the order at once
(a shipment settles its own allocation when it leaves). All of it commits with the order's
records, or none of it does: a crash between the two can leave no unit held for nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from dom.orders.model import OrderIn
from inventory import Changes, HoldLine, HoldRequest, HoldStatus, Reservations

RESERVATION_PREFIX = "order:"  # an allocation's reservation id: `order:<shipment id>`


def reservation_id(shipment_id: str) -> str:
    return RESERVATION_PREFIX + shipment_id


@dataclass(slots=True)
class Allocation:
    """Of a plan's shipments: those held (shipment id, planned shipment) and those the ledger
    refused (planned shipment, why): stock a concurrent order took since the plan was made."""

    held: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused: list[tuple[dict[str, Any], str]] = field(default_factory=list)


def allocate(
    conn: Connection,
    reservations: Reservations,
    order: OrderIn,
    planned: list[dict[str, Any]],
    first_number: int,
    changes: Changes,
    given_back: Mapping[tuple[str, str, str], int] | None = None,
) -> Allocation:
    """Hold each planned shipment at its location and consume it for the order; shipment ids
    are `<order id>-S<n>` from `first_number` on, in plan order (a refused one leaves a gap)."""
    skus = {line.id: line.sku for line in order.lines}
    requests = [
        HoldRequest(
            id=reservation_id(f"{order.id}-S{first_number + k}"),
            lines=[
                HoldLine(sku=skus[line["id"]], quantity=line["quantity"], location=s["location"])
                for line in s["lines"]
            ],
            method=order.delivery.method,
            store=order.store,
            channel=order.channel,
            kind="allocation",
        )
        for k, s in enumerate(planned)
    ]
    outcomes = reservations.hold_in(conn, requests, changes, given_back) if requests else []
    allocation = Allocation()
    for k, (shipment, request, outcome) in enumerate(zip(planned, requests, outcomes, strict=True)):
        if outcome.status is HoldStatus.held and not outcome.replayed:
            reservations.consume_in(conn, request.id, order.id, changes)
            allocation.held.append((f"{order.id}-S{first_number + k}", shipment))
        else:
            reason = outcome.reason or f"reservation {request.id!r} is recorded already"
            allocation.refused.append((shipment, reason))
    return allocation
