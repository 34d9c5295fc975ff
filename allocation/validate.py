"""Refuse invalid instances with a precise message before any decision is made.

Field errors come from the models in `allocation.instance`; this module adds the references between
parts: every id unique, every location reference known, pickups at an existing store. A SKU
that no stock record names is not an error: nobody stocks it, so its lines are backordered and
the rest of the instance is planned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from allocation.instance import DropOffStore, Instance, PickupAt


class InvalidInstance(ValueError):
    """The instance was refused; ``problems`` lists every reason, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid instance: " + "; ".join(problems))


def parse_instance(data: Any) -> Instance:
    """Validate plain data (parsed JSON) into an `Instance`, or raise `InvalidInstance`."""
    if isinstance(data, Instance):
        instance = data
    else:
        try:
            instance = Instance.model_validate(data)
        except ValidationError as error:
            raise InvalidInstance([_describe(e) for e in error.errors()]) from None
    problems = list(_reference_problems(instance))
    if problems:
        raise InvalidInstance(problems)
    return instance


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "instance"
    return f"{where}: {error['msg']}"


def _duplicates(ids: Iterable[Any]) -> list[Any]:
    return sorted(key for key, count in Counter(ids).items() if count > 1)


def _reference_problems(instance: Instance) -> Iterable[str]:
    locations = {loc.id: loc for loc in instance.locations}
    for dup in _duplicates(loc.id for loc in instance.locations):
        yield f"duplicate location id {dup!r}"
    for dup in _duplicates((s.location, s.sku) for s in instance.stock):
        yield f"duplicate stock record for location {dup[0]!r} and SKU {dup[1]!r}"
    for i, record in enumerate(instance.stock):
        if record.location not in locations:
            yield f"stock[{i}]: unknown location {record.location!r}"
    for dup in _duplicates(o.id for o in instance.orders):
        yield f"duplicate order id {dup!r}"
    for order in instance.orders:
        yield from _order_problems(order, locations)
    for dup in _duplicates(r.id for r in instance.returns):
        yield f"duplicate return line id {dup!r}"
    for line in instance.returns:
        if isinstance(line.drop_off, DropOffStore) and line.drop_off.store not in locations:
            yield f"return line {line.id!r}: drop-off store {line.drop_off.store!r} does not exist"
    for value in instance.resale_values:
        if value.location not in locations:
            yield f"resale value: unknown location {value.location!r}"
    for rule in instance.rules.exclusions:
        if rule.location is not None and rule.location not in locations:
            yield f"rules.exclusions: unknown location {rule.location!r}"


def _order_problems(order, locations) -> Iterable[str]:  # type: ignore[no-untyped-def]
    for dup in _duplicates(line.id for line in order.lines):
        yield f"order {order.id!r}: duplicate line id {dup!r}"
    if isinstance(order.delivery, PickupAt):
        store = locations.get(order.delivery.store)
        if store is None:
            yield f"order {order.id!r}: pickup store {order.delivery.store!r} does not exist"
        elif store.type != "store" and "pickup" not in store.capabilities:
            yield f"order {order.id!r}: pickup location {store.id!r} is not a pickup point"
