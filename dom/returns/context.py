"""What the return lifecycle works with: the ledger and the rule sets (whose transfer costs
price a store's return to a warehouse)."""

from __future__ import annotations

from dataclasses import dataclass

from dom.rulesets import RuleSets
from inventory import Ledger, to_micros


@dataclass(frozen=True, slots=True)
class ReturnsContext:
    ledger: Ledger
    rule_sets: RuleSets

    def now_us(self) -> int:
        return to_micros(self.ledger.clock())
