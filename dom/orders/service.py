"""The order lifecycle's one entry point: what the API and the command line call."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from dom.orders import store, submit
from dom.orders.context import OrdersContext, OrderTerms
from dom.orders.errors import UnknownOrder
from dom.orders.model import OrderIn
from dom.orders.routing import Router
from dom.orders.tables import DECISION, HISTORY, create_tables
from dom.rulesets import RuleSets
from inventory import AvailabilityReader, Ledger, Reservations

MAX_HISTORY = 1_000  # entries of one order's history answered at once


class Orders:
    def __init__(
        self,
        ledger: Ledger,
        reservations: Reservations,
        reader: AvailabilityReader,
        rule_sets: RuleSets,
        terms: OrderTerms = OrderTerms(),
    ) -> None:
        create_tables(ledger.engine)
        self.ctx = OrdersContext(ledger, reservations, Router(reader), rule_sets, terms)

    def submit(self, order: OrderIn) -> tuple[dict[str, Any], bool]:
        """Route, allocate and record `order`; the answer, and whether it is a replay."""
        return submit.submit(self.ctx, order)

    def get(self, order_id: str) -> dict[str, Any]:
        with self.ctx.ledger.engine.connect() as conn:
            found = store.view(conn, order_id)
        if found is None:
            raise UnknownOrder(f"no order {order_id!r}")
        return found

    def history(self, order_id: str) -> list[dict[str, Any]]:
        """Every state change of the order, oldest first, with its time."""
        with self.ctx.ledger.engine.connect() as conn:
            self._exists(conn, order_id)
            rows = conn.execute(
                select(HISTORY)
                .where(HISTORY.c.order_id == order_id)
                .order_by(HISTORY.c.seq)
                .limit(MAX_HISTORY)
            ).all()
        return [
            {"at": store.iso(r.at_us), "kind": r.kind, "shipment": r.shipment_id,
             "detail": orjson.loads(r.detail)}
            for r in rows
        ]  # fmt: skip

    def explain(self, order_id: str) -> list[dict[str, Any]]:
        """Every routing decision made for the order, oldest first, kept whole."""
        with self.ctx.ledger.engine.connect() as conn:
            self._exists(conn, order_id)
            rows = conn.execute(
                select(DECISION).where(DECISION.c.order_id == order_id).order_by(DECISION.c.seq)
            ).all()
        return [
            {"at": store.iso(r.at_us), "cause": r.cause, "rule_set": r.rule_set,
             **orjson.loads(r.explanation)}
            for r in rows
        ]  # fmt: skip

    @staticmethod
    def _exists(conn: Any, order_id: str) -> None:
        if store.first_answer(conn, order_id) is None:
            raise UnknownOrder(f"no order {order_id!r}")
