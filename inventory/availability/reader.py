"""Availability reads for checkout: the projection only, never SQL, one Redis round trip per cart."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from inventory.availability import network
from inventory.availability.compute import SkuAvailability, compute
from inventory.availability.policy import VendorConfidence
from inventory.availability.sources import InvalidQuery, Query, Sources, sources_for
from inventory.availability.tally import SourceTable, Tally, tally_many
from inventory.domain.model import Capability
from inventory.projection.store import Projection

MAX_CART_SKUS = 500
MAX_CACHED_SOURCES = 4096  # (method, store, channel) combinations kept per network version
MAX_KEPT_TALLY_BYTES = 32 * 1024 * 1024  # records whose tallies are kept; the oldest goes first


_SourcesKey = tuple[str, str, str | None, str]


class CartTooLarge(ValueError):
    pass


class NetworkNotPublished(RuntimeError):
    pass


class AvailabilityReader:
    """Caches the network view, and which location may serve what, by network version; and
    the tallies of the records it last saw, by their bytes: a record read again unchanged (a hot
    SKU, from the local copy of the projection) is not tallied again while time leaves its
    tally as it was (`Tally.until_s`)."""

    def __init__(
        self, projection: Projection, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.projection = projection
        self.clock = clock
        self._view: network.NetworkView | None = None
        self._sources: dict[_SourcesKey, Sources] = {}
        self._tallies: OrderedDict[tuple[_SourcesKey, bytes | None], tuple[int, Tally]] = (
            OrderedDict()
        )
        self._kept_bytes = 0
        self._lock = threading.RLock()

    def check(
        self,
        skus: Sequence[str],
        query: Query = Query(),
        detail: bool = False,
        quantities: Mapping[str, int] | None = None,
    ) -> list[SkuAvailability]:
        """Each SKU's availability and its promise of `query.quantity` units, or of its own
        quantity in `quantities` (a cart's lines)."""
        unique = unique_skus(skus)
        version, positions, inbound = self.projection.read_with_inbound(unique)
        view = self.view_for(version)
        return self.answer(view, unique, positions, inbound, query, detail, quantities)

    def answer(
        self,
        view: network.NetworkView,
        unique: list[str],
        positions: Mapping[str, bytes | None],
        inbound: Mapping[str, Mapping[str, int]],
        query: Query,
        detail: bool = False,
        quantities: Mapping[str, int] | None = None,
    ) -> list[SkuAvailability]:
        """`check`'s answer from what was read of the projection, without I/O: shared by this
        reader and its async twin (inventory.availability.async_reader)."""
        if query.method == "pickup":
            _check_pickup_store(view, query.store)
        sources = self.sources(view, query)
        now = self.clock()
        tallies: list[Tally | None] = [None] * len(unique)
        if not detail and not sources.fenced:  # the whole cart in one vectorised pass
            records = [positions[sku] for sku in unique]
            key, now_s = _key_of(view, query), int(now.timestamp())
            tallies = self._tally(key, sources.table, view.policy.vendor, records, now_s)
        return [
            compute(
                sku, positions[sku], inbound[sku], sources, view.policy, query, now, detail,
                counted, quantities.get(sku) if quantities else None,
            )
            for sku, counted in zip(unique, tallies, strict=True)
        ]  # fmt: skip

    def explain(self, sku: str, query: Query = Query()) -> SkuAvailability:
        """The same computation, kept whole: every location's contribution and why it counts."""
        return self.check([sku], query, detail=True)[0]

    def _tally(
        self,
        key: _SourcesKey,
        table: SourceTable,
        vendor: VendorConfidence,
        records: list[bytes | None],
        now_s: int,
    ) -> list[Tally | None]:
        """The records' tallies: those kept while still true, the others made in one pass."""
        kept, found = self._tallies, []
        for record in records:
            hit = kept.get((key, record))
            found.append(hit[1] if hit is not None and hit[0] <= now_s <= hit[1].until_s else None)
        missing = [i for i, tally in enumerate(found) if tally is None]
        if not missing:
            return found
        made = tally_many([records[i] for i in missing], table, now_s, vendor)
        with self._lock:
            for i, tally in zip(missing, made, strict=True):
                found[i] = tally
                if (key, records[i]) not in kept:
                    self._kept_bytes += len(records[i] or b"")
                kept[(key, records[i])] = (now_s, tally)
            while self._kept_bytes > MAX_KEPT_TALLY_BYTES:
                (_, record), _ = kept.popitem(last=False)
                self._kept_bytes -= len(record or b"")
        return found

    def sources(self, view: network.NetworkView, query: Query) -> Sources:
        """Which location may serve `query`'s kind of request, cached per network version."""
        key = _key_of(view, query)
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
        view = self.cached_view(version)
        if view is not None:
            return view
        with self._lock:  # one thread reads the network; the others then find its view
            view = self.cached_view(version)
            return view if view is not None else self.adopt_view(*self.projection.network())

    def cached_view(self, version: str | None) -> network.NetworkView | None:
        """The view held now if it is of `version`."""
        view = self._view
        return view if view is not None and view.version == version else None

    def adopt_view(self, blob: str | bytes | None, version: str | None) -> network.NetworkView:
        """Hold the network just read (its blob and version, read together) from now on."""
        if blob is None or version is None:
            raise NetworkNotPublished("the projection holds no network: run `dom rebuild`")
        with self._lock:
            view = self._view
            if view is None or view.version != version:
                self._view = view = network.decode(blob, version)
                self._sources = {}
                self._tallies.clear()
                self._kept_bytes = 0
            return view


def _key_of(view: network.NetworkView, query: Query) -> _SourcesKey:
    """What decides a request's sources. By version too: a reader still on the previous view
    must not file its sources (or tallies) under the new one after the caches were cleared."""
    return (
        view.version,
        query.method,
        query.store if query.method == "pickup" else None,
        query.channel,
    )


def unique_skus(skus: Sequence[str]) -> list[str]:
    """Each SKU once, in the order asked; a call asks about at most MAX_CART_SKUS."""
    unique = list(dict.fromkeys(skus))
    if len(unique) > MAX_CART_SKUS:
        raise CartTooLarge(f"at most {MAX_CART_SKUS} SKUs per call, got {len(unique)}")
    return unique


def _check_pickup_store(view: network.NetworkView, store: str | None) -> None:
    """A pickup query names a pickup point the network has: anything else is the caller's
    mistake, not stock that happens to be zero."""
    location = view.locations.get(store or "")
    if location is None:
        raise InvalidQuery(f"unknown pickup store {store!r}")
    if not location.can(Capability.pickup):
        raise InvalidQuery(f"{store!r} is not a pickup point")
