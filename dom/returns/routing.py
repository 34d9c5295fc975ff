"""Routing a return: the allocation core's return routing (allocation.returns.route_return)
over the ledger's locations, line by line. Pure: the caller reads the network and prices.

A location sells a SKU when it carries it (the ledger holds a position for it there); a unit is
worth its price there (the order line's, or the one the return gives), and nothing where it is
not carried. So a sellable item dropped at a store that sells it is restocked on the spot, one
the store does not carry goes where it sells, net of transport and handling, and a damaged one
goes to a returns centre when the network has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from allocation.instance import Instance, ResaleValue, ReturnRules
from allocation.returns import route_return
from allocation.rules import Rules
from dom.orders.routing import allocation_location
from dom.returns.model import ReturnIn
from inventory import Location


class Unroutable(ValueError):
    """No location can take a line of the return."""


def route(
    ret: ReturnIn,
    locations: Iterable[Location],
    carried: Mapping[str, frozenset[str]],
    prices: Mapping[str, float],
    rules: Rules,
    return_rules: ReturnRules = ReturnRules(),
) -> list[dict[str, Any]]:
    """Each line's destination with its cost, value, terms and reason, in the return's order.
    `carried` names the locations that carry each SKU; `prices` is each line's unit price."""
    network = tuple(allocation_location(location) for location in locations)
    decisions = []
    for line in ret.lines:
        price = prices[line.id]
        values = tuple(
            ResaleValue.model_construct(location=place, sku=line.sku, value=price)
            for place in sorted(carried.get(line.sku, frozenset()))
        )
        instance = Instance.model_construct(
            locations=network, rules=rules, return_rules=return_rules, resale_values=values,
            stock=(), orders=(), returns=(),
        )  # fmt: skip
        decision = route_return(instance, ret.for_allocation(line))
        if decision["destination"] is None:
            raise Unroutable(
                f"line {line.id}: no active location takes {line.condition} returns "
                "from this drop-off"
            )
        decisions.append(decision)
    return decisions
