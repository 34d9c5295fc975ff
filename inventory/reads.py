"""Availability reads for checkout: the projection only, never SQL, one Redis round trip per cart."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from inventory import network
from inventory.availability import Query, SkuAvailability, compute
from inventory.projection import Projection

MAX_CART_SKUS = 500


class CartTooLarge(ValueError):
    pass


class NetworkNotPublished(RuntimeError):
    pass


class AvailabilityReader:
    """Caches the network view by version; positions are read fresh on every call."""

    def __init__(self, projection: Projection, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.projection = projection
        self.clock = clock
        self._view: network.NetworkView | None = None
        self._lock = threading.Lock()

    def check(self, skus: Sequence[str], query: Query = Query()) -> list[SkuAvailability]:
        unique = list(dict.fromkeys(skus))
        if len(unique) > MAX_CART_SKUS:
            raise CartTooLarge(f"at most {MAX_CART_SKUS} SKUs per call, got {len(unique)}")
        version, positions, inbound = self.projection.read_with_inbound(unique)
        view = self._network(version)
        now = self.clock()
        return [compute(sku, positions[sku], inbound[sku], view.locations, view.policy, query, now) for sku in unique]

    def explain(self, sku: str, query: Query = Query()) -> SkuAvailability:
        """The same computation, kept whole: every location's contribution and why it counts."""
        return self.check([sku], query)[0]

    def network_view(self) -> network.NetworkView:
        """The current network and policy (re-read only when their version changed)."""
        return self._network(self.projection.redis.get(self.projection.network_version_key))

    def _network(self, version: str | None) -> network.NetworkView:
        view = self._view
        if view is not None and view.version == version:
            return view
        with self._lock:
            blob, current = self.projection.network()
            if blob is None or current is None:
                raise NetworkNotPublished("the projection holds no network: run `dom rebuild`")
            self._view = network.decode(blob, current)
            return self._view
