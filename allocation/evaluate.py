"""The cost and the hard-rule check of a given allocation of one order, from the formula alone.

Solvers search; this module judges. Every plan's cost is recomputed here, and the tests compare
solvers against exhaustive search through it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from allocation.costs import OrderOptions
from allocation.rules import Rules


@dataclass(frozen=True)
class OrderCost:
    shipments: float
    backorders: float
    penalties: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.shipments + self.backorders + sum(self.penalties.values())


def kits_of(options: OrderOptions) -> dict[str, list[int]]:
    kits: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(options.order.lines):
        if line.kit is not None:
            kits[line.kit].append(i)
    return dict(kits)


def order_cost(options: OrderOptions, units: np.ndarray, rules: Rules) -> OrderCost:
    """Cost of sending ``units[j, i]`` of line i from candidate j (rule penalties included)."""
    open_ = units.sum(axis=1) > 0
    shipments = float(np.sum(options.fixed[open_] + options.unit[open_] * units[open_].sum(axis=1)))
    missing = options.quantity - units.sum(axis=0)
    penalties: dict[str, float] = {}
    count = int(open_.sum())
    limit = rules.max_shipments_per_order
    if limit is not None and limit.mode == "soft" and count > limit.limit:
        penalties["max_shipments_per_order"] = limit.penalty * (count - limit.limit)
    value_rule = rules.min_value_per_extra_shipment
    if value_rule is not None and value_rule.mode == "soft":
        short = _extra_shipments_under_value(options, units, value_rule.limit)
        if short:
            penalties["min_value_per_extra_shipment"] = value_rule.penalty * short
    if rules.kits.mode == "soft":
        extra = sum(
            max(0, int((units[:, ls].sum(axis=1) > 0).sum()) - 1)
            for ls in kits_of(options).values()
        )
        if extra:
            penalties["kits"] = rules.kits.penalty * extra
    return OrderCost(shipments, float(rules.backorder_penalty * missing.sum()), penalties)


def _extra_shipments_under_value(options: OrderOptions, units: np.ndarray, limit: float) -> int:
    """Shipments under the value, the one exempt shipment aside (the first may be worth little)."""
    values = (units @ options.price)[units.sum(axis=1) > 0]
    return max(0, int(np.sum(values < limit - 1e-9)) - 1)


def hard_rule_violations(options: OrderOptions, units: np.ndarray, rules: Rules) -> list[str]:
    """Hard rules an allocation breaks (stock and capacity are checked by the plan validator)."""
    problems = []
    count = int((units.sum(axis=1) > 0).sum())
    limit = rules.max_shipments_per_order
    if limit is not None and limit.mode == "hard" and count > limit.limit:
        problems.append(f"{count} shipments, more than {limit.limit:g}")
    value_rule = rules.min_value_per_extra_shipment
    hard_value = value_rule is not None and value_rule.mode == "hard"
    if hard_value and _extra_shipments_under_value(options, units, value_rule.limit):
        problems.append(f"an extra shipment is worth less than {value_rule.limit:g}")
    if rules.kits.mode == "hard":
        for kit, ls in kits_of(options).items():
            sources = np.flatnonzero(units[:, ls].sum(axis=1) > 0)
            complete = all(units[:, i].sum() == options.quantity[i] for i in ls)
            if len(sources) > 1 or (len(sources) == 1 and not complete):
                problems.append(f"kit {kit!r} is split or incomplete")
    return problems
