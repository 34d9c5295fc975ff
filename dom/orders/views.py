"""What order events carry: where an order stands, without its explanations."""

from __future__ import annotations

from typing import Any


def summary(answer: dict[str, Any]) -> dict[str, Any]:
    """An order event's payload, from the order as it stands (dom.orders.store.view)."""
    return {
        "id": answer["id"],
        "status": answer["status"],
        "cost": answer["cost"],
        "shipments": [
            {"id": s["id"], "location": s["location"], "status": s["status"], "lines": s["lines"]}
            for s in answer["shipments"]
        ],
        "backordered": [
            {"id": b["id"], "quantity": b["quantity"], "reason": b["reason"]}
            for b in answer["backordered"]
        ],
    }
