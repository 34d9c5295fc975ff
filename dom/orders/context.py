"""What the order lifecycle works with: the ledger, its reservations, the router, the rule sets
and the lifecycle's own settings."""

from __future__ import annotations

from dataclasses import dataclass

from dom.orders.routing import Router
from dom.rulesets import RuleSets
from inventory import Ledger, Reservations, to_micros


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """The lifecycle's settings (dom.settings names them DOM_ORDER_*)."""

    route_attempts: int = 3  # routings of one submission when concurrent orders take its stock
    max_rejections: int = 3  # rejections of one order before a person decides
    exclusion_s: int = 24 * 3600  # how long a location that rejected an order is left out of it
    parked_max_s: int = 7 * 24 * 3600  # how long an order waits for stock before it is cancelled


@dataclass(frozen=True, slots=True)
class OrdersContext:
    ledger: Ledger
    reservations: Reservations
    router: Router
    rule_sets: RuleSets
    terms: OrderTerms

    def now_us(self) -> int:
        return to_micros(self.ledger.clock())
