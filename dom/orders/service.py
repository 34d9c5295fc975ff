"""The order lifecycle's one entry point: what the API and the command line call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from dom.events import outbox
from dom.orders import cancel, capacity, reroute, shipments, store, submit
from dom.orders.context import OrdersContext, OrderTerms
from dom.orders.errors import UnknownOrder, UnknownShipment
from dom.orders.model import OrderIn, OrderStatus, RejectionReason, ShipmentEvent
from dom.orders.routing import Router
from dom.orders.tables import create_tables
from dom.orders.watch import StockWatch
from dom.rulesets import RuleSets
from inventory import AvailabilityReader, Ledger, Reservations, to_micros

MAX_HISTORY = 1_000  # entries of one order's history answered at once
T = TypeVar("T")


def _used_today(ledger: Ledger, locations: list[str]) -> Mapping[str, int]:
    """Shipments allocated today at each of `locations` (those whose day is counted)."""
    day = capacity.day_of(to_micros(ledger.clock()))
    return ledger.read(lambda conn: capacity.used(conn, locations, day))


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
        outbox.create_tables(ledger.engine)  # the orders' events are written with them
        router = Router(reader, partial(_used_today, ledger))
        self.ctx = OrdersContext(ledger, reservations, router, rule_sets, terms)
        self._watch: StockWatch | None = None

    def submit(self, order: OrderIn) -> tuple[dict[str, Any], bool]:
        """Route, allocate and record `order`; the answer, and whether it is a replay."""
        return submit.submit(self.ctx, order)

    def post_event(
        self,
        shipment_id: str,
        event: ShipmentEvent,
        reason: RejectionReason | None = None,
        at: datetime | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """A location's event for its shipment: the shipment as it then stands, and whether
        the event was a replay (dom.orders.shipments)."""
        return shipments.post(self.ctx, shipment_id, event, reason, at)

    def cancel(self, order_id: str, lines: list[str] | None, reason: str) -> dict[str, Any]:
        return cancel.cancel(self.ctx, order_id, lines, reason)

    def reroute(self, order_id: str) -> dict[str, Any]:
        """A person routes the order's waiting units again (escalated ones too)."""
        reroute.reroute(self.ctx, order_id, "requested", escalated_too=True)
        return self.get(order_id)

    def shipment(self, shipment_id: str) -> dict[str, Any]:
        found = self._read(store.shipment_view, shipment_id)
        if found is None:
            raise UnknownShipment(f"no shipment {shipment_id!r}")
        return found

    def pick_list(self, location: str, limit: int) -> list[dict[str, Any]]:
        """The location's open shipments (allocated or accepted), oldest first."""
        return self._read(store.open_at, location, limit)

    def by_status(self, status: OrderStatus, limit: int) -> list[dict[str, Any]]:
        """Orders in `status` (escalated: the people's queue), the longest unchanged first."""
        return self._read(store.in_status, status, limit)

    def watch(self, interval_s: float) -> StockWatch:
        """Start re-routing parked and short orders as stock changes (a long-running process)."""
        self._watch = StockWatch(self.ctx, interval_s).start()
        return self._watch

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()

    def get(self, order_id: str) -> dict[str, Any]:
        return self._found(order_id, self._read(store.view, order_id))

    def history(self, order_id: str) -> list[dict[str, Any]]:
        """Every state change of the order, oldest first, with its time."""
        return self._found(order_id, self._read(store.history, order_id, MAX_HISTORY))

    def explain(self, order_id: str) -> list[dict[str, Any]]:
        """Every routing decision made for the order, oldest first, kept whole."""
        return self._found(order_id, self._read(store.decisions, order_id))

    def _read(self, query: Callable[..., T], *args: Any) -> T:
        return self.ctx.ledger.read(lambda conn: query(conn, *args))

    @staticmethod
    def _found(order_id: str, found: T | None) -> T:
        if found is None:
            raise UnknownOrder(f"no order {order_id!r}")
        return found
