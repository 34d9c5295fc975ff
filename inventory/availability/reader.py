"""Availability reads for checkout: the projection only, never SQL, one Redis round trip per cart."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from inventory.availability import network
from inventory.availability.compute import SkuAvailability, compute
from inventory.availability.sources import InvalidQuery, Query, Sources, sources_for
from inventory.availability.tally import Tally, tally_many
from inventory.domain.model import Capability
from inventory.projection.store import Projection

MAX_CART_SKUS = 500
MAX_CACHED_SOURCES = 4096  # (method, store, channel) combinations kept per network version


class CartTooLarge(ValueError):
    pass


class NetworkNotPublished(RuntimeError):
    pass


class AvailabilityReader:
    """Caches the network view, and which location may serve what, by network version."""

    def __init__(
        self, projection: Projection, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.projection = projection
        self.clock = clock
        self._view: network.NetworkView | None = None
        self._sources: dict[tuple[str, str, str | None, str], Sources] = {}
        self._lock = threading.Lock()

    def check(
        self,
        skus: Sequence[str],
        query: Query = Query(),
        detail: bool = False,
        quantities: Mapping[str, int] | None = None,
    ) -> list[SkuAvailability]:
        """Each SKU's availability and its promise of `query.quantity` units, or of its own
        quantity in `quantities` (a cart's lines)."""
        unique = list(dict.fromkeys(skus))
        if len(unique) > MAX_CART_SKUS:
            raise CartTooLarge(f"at most {MAX_CART_SKUS} SKUs per call, got {len(unique)}")
        version, positions, inbound = self.projection.read_with_inbound(unique)
        view = self.view_for(version)
        if query.method == "pickup":
            _check_pickup_store(view, query.store)
        sources = self.sources(view, query)
        now = self.clock()
        tallies: list[Tally | None] = [None] * len(unique)
        if not detail and not sources.fenced:  # the whole cart in one vectorised pass
            vendor = view.policy.vendor
            carts = [positions[sku] for sku in unique]
            tallies = list(
                tally_many(
                    carts,
                    sources.table,
                    int(now.timestamp()),
                    vendor,
                )
            )
        return [
            compute(
                sku,
                positions[sku],
                inbound[sku],
                sources,
                view.policy,
                query,
                now,
                detail,
                counted,
                quantities.get(sku) if quantities else None,
            )
            for sku, counted in zip(unique, tallies, strict=True)
        ]

    def explain(self, sku: str, query: Query = Query()) -> SkuAvailability:
        """The same computation, kept whole: every location's contribution and why it counts."""
        return self.check([sku], query, detail=True)[0]

    def sources(self, view: network.NetworkView, query: Query) -> Sources:
        """Which location may serve `query`'s kind of request, cached per network version."""
        # By version too: a reader still on the previous view must not file its sources
        # under the new one after the cache was cleared for it.
        key = (
            view.version,
            query.method,
            query.store if query.method == "pickup" else None,
            query.channel,
        )
        sources = self._sources.get(key)
        if sources is None:
            sources = sources_for(view.locations, view.slots, view.policy, query, view.channels)
            if len(self._sources) >= MAX_CACHED_SOURCES:
                self._sources.clear()
            self._sources[key] = sources
        return sources

    @property
    def known_version(self) -> str | None:
        """The network version of the view held now (None before the first read)."""
        view = self._view
        return view.version if view is not None else None

    def view_for(self, version: str | None) -> network.NetworkView:
        """The network view of `version` (as just read from the projection), re-read only on change."""
        view = self._view
        if view is not None and view.version == version:
            return view
        with self._lock:
            blob, current = self.projection.network()
            if blob is None or current is None:
                raise NetworkNotPublished("the projection holds no network: run `dom rebuild`")
            self._view = network.decode(blob, current)
            self._sources = {}
            return self._view


def _check_pickup_store(view: network.NetworkView, store: str | None) -> None:
    """A pickup query names a pickup point the network has: anything else is the caller's
    mistake, not stock that happens to be zero."""
    location = view.locations.get(store or "")
    if location is None:
        raise InvalidQuery(f"unknown pickup store {store!r}")
    if not location.can(Capability.pickup):
        raise InvalidQuery(f"{store!r} is not a pickup point")
