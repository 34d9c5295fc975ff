"""Safety stock by rule. Pure: the most specific rule wins (location+sku, sku, location, type)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SafetyRule:
    units: int
    location_type: str | None = None
    location: str | None = None
    sku: str | None = None

    @property
    def specificity(self) -> int:
        if self.location and self.sku:
            return 4
        if self.sku:
            return 3
        if self.location:
            return 2
        return 1 if self.location_type else 0

    def matches(self, location: str, location_type: str, sku: str) -> bool:
        return (
            (self.location is None or self.location == location)
            and (self.sku is None or self.sku == sku)
            and (self.location_type is None or self.location_type == location_type)
        )


class SafetyBook:
    """Answers 'what buffer applies here' in O(1) per position."""

    def __init__(self, rules: Iterable[SafetyRule]) -> None:
        self._by_key: dict[tuple[int, str | None, str | None, str | None], int] = {}
        for rule in rules:
            key = (rule.specificity, rule.location, rule.sku, rule.location_type)
            self._by_key[key] = rule.units

    def units(self, location: str, location_type: str, sku: str) -> int:
        lookups = (
            (4, location, sku, None),
            (4, location, sku, location_type),
            (3, None, sku, None),
            (3, None, sku, location_type),
            (2, location, None, None),
            (2, location, None, location_type),
            (1, None, None, location_type),
        )
        for key in lookups:
            if key in self._by_key:
                return self._by_key[key]
        return 0


RULES_LOCK = 0x646F_6D01  # PostgreSQL advisory lock key of the safety rules ("dom" 1)
