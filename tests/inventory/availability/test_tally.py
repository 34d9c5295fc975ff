"""The vectorised tally gives exactly the answers of the one-location-at-a-time explanation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from inventory.availability.compute import compute
from inventory.availability.policy import AvailabilityPolicy, VendorConfidence
from inventory.availability.sources import Query, sources_for
from inventory.availability.tally import tally_many
from inventory.domain import records
from inventory.domain.model import Capability, Location, LocationType

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@st.composite
def networks(draw):
    count = draw(st.integers(1, 12))
    locations = {}
    for i in range(count):
        kind = draw(st.sampled_from(list(LocationType)))
        caps = frozenset(draw(st.sets(st.sampled_from(list(Capability)))))
        locations[f"L{i}"] = Location(
            f"L{i}", kind, 45.0, 3.0, caps, active=draw(st.booleans()),
            lead_time_hours=draw(st.sampled_from([2.0, 4.0, 24.0, 72.0])), transfer_days=draw(st.sampled_from([1.0, 2.0, 5.0])),
        )  # fmt: skip
    return locations


def slots_of(locations) -> dict[str, int]:
    return {loc: 3 * i + 1 for i, loc in enumerate(sorted(locations))}  # sparse, as after deletions


GHOST_SLOT = 999  # a location the network no longer has


@st.composite
def positions(draw, locations):
    chosen = draw(st.lists(st.sampled_from(sorted(locations)), unique=True))
    slots = slots_of(locations)
    entries = []
    for loc in chosen:
        on_hand = draw(st.integers(-5, 60))
        reserved, safety = draw(st.integers(0, 20)), draw(st.integers(0, 5))
        reported = int((NOW - timedelta(hours=draw(st.sampled_from([1, 30, 60])))).timestamp())
        version = draw(st.integers(1, 9))
        entries.append(records.pack(slots[loc], version, on_hand, reserved, safety, reported))
        if reserved and draw(st.booleans()):  # a channel's units there: never a location's
            pool = records.pool_slot(slots[loc], draw(st.integers(0, 3)))
            entries.append(records.pack(pool, version, 0, reserved, 0, 0))
    if draw(st.booleans()):
        entries.insert(draw(st.integers(0, len(entries))), records.pack(GHOST_SLOT, 1, 5, 0, 0, 0))
    return b"".join(entries)


@seed(20261122)
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_quick_tally_and_the_explained_tally_agree(data):
    locations = data.draw(networks())
    raw = data.draw(positions(locations))
    policy = AvailabilityPolicy(
        ship_from_store=data.draw(st.booleans()),
        vendor=VendorConfidence(
            factor=data.draw(st.sampled_from([0.5, 0.8, 1.0])), max_age_hours=48
        ),
        network_threshold_units=data.draw(st.integers(0, 3)),
    )
    store = data.draw(st.sampled_from(sorted(locations)))
    query = data.draw(
        st.sampled_from(
            [Query(quantity=q) for q in (1, 5, 40)]
            + [Query(method="pickup", store=store, quantity=q) for q in (1, 8)]
        )
    )
    sources = sources_for(locations, slots_of(locations), policy, query)
    quick = compute("S", raw, {}, sources, policy, query, NOW)
    explained = compute("S", raw, {}, sources, policy, query, NOW, detail=True)
    assert (quick.available, quick.shelf, quick.transferable, quick.held_back, quick.promise) == (
        explained.available, explained.shelf, explained.transferable, explained.held_back, explained.promise,
    )  # fmt: skip
    assert (
        sum(c.counted for c in explained.contributions) == explained.available + explained.held_back
    )


@seed(20261123)
@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_cart_tallied_in_one_pass_equals_each_sku_tallied_alone(data):
    locations = data.draw(networks())
    policy = AvailabilityPolicy(vendor=VendorConfidence(factor=0.8, max_age_hours=48))
    sources = sources_for(locations, slots_of(locations), policy, Query())
    cart = [data.draw(positions(locations)) for _ in range(data.draw(st.integers(1, 6)))]
    together = tally_many(
        cart, sources.table, int(NOW.timestamp()), VendorConfidence(factor=0.8, max_age_hours=48)
    )
    alone = [
        tally_many(
            [raw],
            sources.table,
            int(NOW.timestamp()),
            VendorConfidence(factor=0.8, max_age_hours=48),
        )[0]
        for raw in cart
    ]
    for a, b in zip(together, alone, strict=True):
        assert (a.total, a.shelf, a.leads.tolist(), a.cumulative.tolist()) == (
            b.total,
            b.shelf,
            b.leads.tolist(),
            b.cumulative.tolist(),
        )
