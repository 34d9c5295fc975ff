"""Registering a return: check it against the network and the order it names, route each line,
and record the return, its lines' destinations and its event in one transaction.

A return of an order gives back no more of a line than the customer has (shipped parcels,
collected pickups) less what earlier returns gave back; the order's row is locked while this is
checked, so two returns of one order cannot both take the same units. The routing is made on a
read of the network before the transaction: a return's destination is a decision, not stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy import Connection

from dom.events import outbox
from dom.orders import store as orders
from dom.returns import routing, store
from dom.returns.context import ReturnsContext
from dom.returns.errors import InvalidReturn, ReturnConflict
from dom.returns.model import ReturnIn, StoreDropOff
from dom.returns.routing import Unroutable
from inventory import Capability, Ledger, Location, LocationType

Delivered = dict[str, tuple[str, int, float]]  # order line -> (sku, units delivered, unit price)


def register(ctx: ReturnsContext, ret: ReturnIn) -> tuple[dict[str, Any], bool]:
    """The return as registered, and whether this was a replay of an earlier registration."""
    found = ctx.ledger.read(lambda conn: _replay(conn, ret))
    if found is not None:
        return found, True
    version, rules = ctx.rule_sets.active()
    locations = {location.id: location for location in ctx.ledger.locations()}
    _check_drop_off(ret, locations)
    skus = sorted({line.sku for line in ret.lines})
    carried, delivered = ctx.ledger.read(partial(_read, skus=skus, order=ret.order))
    prices = _prices(ret, carried, delivered)
    try:
        decisions = routing.route(ret, locations.values(), carried, prices, rules)
    except Unroutable as error:
        raise InvalidReturn(str(error)) from None
    return ctx.ledger.transaction(
        partial(_commit, ctx, ret=ret, decisions=decisions, prices=prices, version=version)
    )


def _replay(conn: Connection, ret: ReturnIn) -> dict[str, Any] | None:
    recorded = store.digest(conn, ret.id)
    if recorded is None:
        return None
    if recorded != ret.digest():
        raise ReturnConflict(f"return {ret.id!r} was registered before with another body")
    return store.view(conn, ret.id)


def _check_drop_off(ret: ReturnIn, locations: Mapping[str, Location]) -> None:
    if not isinstance(ret.drop_off, StoreDropOff):
        return
    name = ret.drop_off.store
    store_ = locations.get(name)
    if store_ is None:
        raise InvalidReturn(f"drop_off.store: no location {name!r}")
    if store_.type is not LocationType.store:
        raise InvalidReturn(f"drop_off.store: {name!r} is a {store_.type}, not a store")
    if not store_.can(Capability.returns):
        why = "is inactive" if not store_.active else "does not take returns"
        raise InvalidReturn(f"drop_off.store: store {name!r} {why}")


def _read(
    conn: Connection, *, skus: list[str], order: str | None
) -> tuple[dict[str, frozenset[str]], Delivered | None]:
    """Where each SKU is carried, and what the named order delivered (None: no such order)."""
    delivered = None
    if order is not None:
        delivered = orders.delivered(conn, order) or None
    return Ledger.carriers_in(conn, skus), delivered


def _prices(
    ret: ReturnIn, carried: Mapping[str, frozenset[str]], delivered: Delivered | None
) -> dict[str, float]:
    """Each line's unit price, after checking its SKU against the order line or the network."""
    if ret.order is not None and delivered is None:
        raise InvalidReturn(f"order: no order {ret.order!r}")
    prices = {}
    for line in ret.lines:
        if delivered is None:
            if not carried[line.sku]:
                raise InvalidReturn(f"lines[{line.id}].sku: no location carries {line.sku!r}")
            prices[line.id] = line.price or 0.0
            continue
        assert line.order_line is not None  # ReturnIn insists when it names an order
        ordered = delivered.get(line.order_line)
        if ordered is None:
            raise InvalidReturn(f"lines[{line.id}].order_line: order {ret.order} has no line "
                                f"{line.order_line!r}")  # fmt: skip
        if ordered[0] != line.sku:
            raise InvalidReturn(f"lines[{line.id}].sku: order line {line.order_line} is "
                                f"{ordered[0]!r}, not {line.sku!r}")  # fmt: skip
        prices[line.id] = line.price if line.price is not None else ordered[2]
    return prices


def _commit(
    ctx: ReturnsContext,
    conn: Connection,
    *,
    ret: ReturnIn,
    decisions: list[dict[str, Any]],
    prices: Mapping[str, float],
    version: str,
) -> tuple[dict[str, Any], bool]:
    found = _replay(conn, ret)  # a concurrent retry committed it meanwhile
    if found is not None:
        return found, True
    now_us = ctx.now_us()
    if ret.order is not None:
        orders.lock_order(conn, ret.order)
        _check_units(ret, orders.delivered(conn, ret.order), store.returned(conn, ret.order))
    store.insert_return(conn, ret, decisions, prices, version, now_us)
    answer = store.view(conn, ret.id)
    assert answer is not None
    if ret.order is not None:
        orders.record(conn, ret.order, "return.registered", now_us, **{"return": ret.id})
    outbox.record(conn, "return.registered", ret.order or ret.id, summary(answer), now_us)
    return answer, False


def _check_units(ret: ReturnIn, delivered: Delivered, returned: Mapping[str, int]) -> None:
    wanted: dict[str, int] = {}
    for line in ret.lines:
        assert line.order_line is not None
        wanted[line.order_line] = wanted.get(line.order_line, 0) + line.quantity
    for order_line, units in sorted(wanted.items()):
        has = delivered[order_line][1] - returned.get(order_line, 0)
        if units > has:
            raise ReturnConflict(
                f"order {ret.order} line {order_line}: {units} units returned but the customer "
                f"has {has} (delivered {delivered[order_line][1]}, returned before "
                f"{returned.get(order_line, 0)})"
            )


def summary(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A return event's payload: where the return and each line stand, without the terms."""
    return {
        "id": answer["id"],
        "order": answer["order"],
        "status": answer["status"],
        "lines": [
            {"id": ln["id"], "sku": ln["sku"], "quantity": ln["quantity"],
             "condition": ln["condition"], "destination": ln["destination"],
             "received_at": ln["received_at"], "restocked": ln["restocked"]}
            for ln in answer["lines"]
        ],
    }  # fmt: skip
