"""The availability policy: what planners decide about selling stock online. Versioned in SQL."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class VendorConfidence(BaseModel):
    """A drop-ship vendor's file is trusted only so far: a share of it, and only while fresh."""

    model_config = ConfigDict(extra="forbid")

    factor: float = Field(default=0.8, ge=0.0, le=1.0)
    max_age_hours: float = Field(default=48.0, gt=0)


class ChannelFence(BaseModel):
    """Stock kept for one sales channel: other channels do not see it.

    Applies to one location, or to every location of a type; `units` or `share` of the stock
    (on_hand - safety; a vendor's trusted stock), never of what is still free: other channels'
    holds never reach it, whatever order they come in. The channel's own holds there use it up.
    Several fences of one channel on one location add up: their units, plus their shares taken
    together (inventory.availability.sources.Source).
    """

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=32)
    location: str | None = None
    location_type: str | None = None
    units: int | None = Field(default=None, ge=0)
    share: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _one_measure(self) -> ChannelFence:
        if (self.units is None) == (self.share is None):
            raise ValueError("a fence has either units or share")
        return self

    def applies_to(self, location: str, location_type: str) -> bool:
        return (self.location is None or self.location == location) and (
            self.location_type is None or self.location_type == location_type
        )


class AvailabilityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ship_from_store: bool = True
    vendor: VendorConfidence = VendorConfidence()
    fences: list[ChannelFence] = Field(default_factory=list, max_length=1000)
    network_threshold_units: int = Field(default=0, ge=0)  # last units of every SKU held back
    sku_threshold_units: dict[str, int] = Field(default_factory=dict)
    transfer_days_max: float = Field(default=3.0, ge=0)  # pickup: transferable within N days

    def threshold(self, sku: str) -> int:
        return self.sku_threshold_units.get(sku, self.network_threshold_units)
