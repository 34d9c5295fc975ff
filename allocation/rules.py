"""The planner's rule set: cost weights plus optional planner rules, each hard or soft.

Every weight of the default cost model (../shared/DESIGN.md) is a field; the minimal rules object of
the `dom allocate` contract is valid on its own because every planner rule has a default.

Planner rules (all optional). A rule is either ``hard`` (the plan may not break it) or ``soft`` (the
plan may break it and pays ``penalty`` EUR each time, added to the cost and shown in the breakdown):

- ``exclusions``: ``[{"location": "ST-004", "mode": "hard"}, {"type": "dropship", "mode": "soft",
  "penalty": 3.0}]``. A hard exclusion removes the location; a soft one costs ``penalty`` per shipment.
- ``max_distance_km``: per location type, ``{"store": {"limit": 150, "mode": "soft", "penalty": 4.0}}``.
  Distance to the address (ship) or to the pickup store (transfer). Soft: ``penalty`` per shipment
  beyond the limit.
- ``max_shipments_per_order``: ``{"limit": 2, "mode": "hard"}``. Soft: ``penalty`` per shipment over.
- ``min_value_per_extra_shipment``: ``{"limit": 30.0, "mode": "soft", "penalty": 5.0}``. All
  shipments of an order but one must each carry goods worth at least ``limit`` (sum of line
  ``price`` times units; a line without a price is worth 0). Soft: ``penalty`` per shipment under the value.
- ``kits``: ``{"mode": "hard"}`` (default). Lines sharing a ``kit`` id come from one location. Hard:
  a kit ships complete from one location or is backordered complete. Soft: a kit may come from several
  locations, paying ``penalty`` per location beyond the first.
- ``store_buffer``: ``{"units": 1}``. Units each store keeps back from online (a location's own
  ``buffer`` overrides it). Always hard: they are subtracted from the store's available stock (a
  planner who wants to trade a store's shelf against cost uses a soft exclusion instead).

``version`` (any string) is copied into every plan so a plan always names the rule set it used.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LocationType = Literal["warehouse", "store", "dropship"]
LOCATION_TYPES: tuple[str, ...] = ("warehouse", "store", "dropship")
Mode = Literal["hard", "soft"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(Strict):
    """A limit that is either hard or soft (a soft limit costs ``penalty`` per breach)."""

    limit: float = Field(ge=0)
    mode: Mode = "hard"
    penalty: float = Field(default=0.0, ge=0)


class KitRule(Strict):
    mode: Mode = "hard"
    penalty: float = Field(default=0.0, ge=0)


class StoreBuffer(Strict):
    """Always hard: units a store keeps for walk-in customers are never offered online."""

    units: int = Field(default=0, ge=0)
    mode: Literal["hard"] = "hard"


class Exclusion(Strict):
    """Excludes one location (``location``) or every location of a type (``type``)."""

    location: str | None = None
    type: LocationType | None = None
    mode: Mode = "hard"
    penalty: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _names_one_target(self) -> Exclusion:
        if (self.location is None) == (self.type is None):
            raise ValueError("an exclusion names exactly one of 'location' or 'type'")
        return self


def _per_type(**values: float) -> dict[str, float]:
    return dict(values)


class Rules(Strict):
    version: str | None = None
    handling_fixed: dict[LocationType, float] = Field(
        default_factory=lambda: _per_type(warehouse=2.0, store=4.5, dropship=3.0)
    )
    handling_unit: dict[LocationType, float] = Field(
        default_factory=lambda: _per_type(warehouse=0.25, store=0.6, dropship=0.4)
    )
    ship_base: float = Field(default=5.0, ge=0)
    ship_per_km: float = Field(default=0.012, ge=0)
    transfer_base: float = Field(default=1.5, ge=0)
    transfer_per_km: float = Field(default=0.004, ge=0)
    backorder_penalty: float = Field(default=60.0, ge=0)
    exclusions: tuple[Exclusion, ...] = ()
    max_distance_km: dict[LocationType, Limit] = Field(default_factory=dict)
    max_shipments_per_order: Limit | None = None
    min_value_per_extra_shipment: Limit | None = None
    kits: KitRule = KitRule()
    store_buffer: StoreBuffer = StoreBuffer()

    @model_validator(mode="after")
    def _weights_cover_every_type(self) -> Rules:
        for name in ("handling_fixed", "handling_unit"):
            weights = getattr(self, name)
            missing = [t for t in LOCATION_TYPES if t not in weights]
            if missing:
                raise ValueError(f"{name} has no weight for location type(s) {missing}")
            if any(value < 0 for value in weights.values()):
                raise ValueError(f"{name} weights must not be negative")
        if self.max_shipments_per_order is not None and self.max_shipments_per_order.limit < 1:
            raise ValueError("max_shipments_per_order.limit must be at least 1")
        return self


COST_MODEL_FIELDS = frozenset(
    {
        "handling_fixed",
        "handling_unit",
        "ship_base",
        "ship_per_km",
        "transfer_base",
        "transfer_per_km",
        "backorder_penalty",
    }
)


def default_cost_model() -> dict:
    """DESIGN.md's default cost model as instance JSON: the weights every rule set starts from."""
    return Rules().model_dump(mode="json", include=set(COST_MODEL_FIELDS))
