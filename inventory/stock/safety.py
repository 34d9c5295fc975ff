"""Safety stock by rule. Pure: the most specific rule wins (location+sku, sku, location, type)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_SAFETY_UNITS = 1_000_000_000  # a buffer no position needs more of; SQL keeps it in 32 bits
LOCATION_TYPES = frozenset({"warehouse", "store", "dropship"})


class InvalidSafetyRule(ValueError):
    """A safety rule that cannot be kept as written: the message says why."""


@dataclass(frozen=True, slots=True)
class SafetyRule:
    """A buffer of `units` kept back from online sale, for the positions the rule names."""

    units: int
    location_type: str | None = None
    location: str | None = None
    sku: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, int):
            raise InvalidSafetyRule(f"units is a whole number, not {self.units!r}")
        if not 0 <= self.units <= MAX_SAFETY_UNITS:
            raise InvalidSafetyRule(f"units is 0 to {MAX_SAFETY_UNITS:,}, not {self.units}")
        if self.location_type is not None and self.location_type not in LOCATION_TYPES:
            raise InvalidSafetyRule(f"unknown location type {self.location_type!r}")
        for name in ("location", "sku"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 64):
                raise InvalidSafetyRule(f"{name} is 1 to 64 characters, not {value!r}")

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
