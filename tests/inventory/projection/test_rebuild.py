"""A rebuild of the projection from SQL over a rich state (holds, safety rules, fences, the network
threshold, vendor confidence, inbound supply) keeps every record and serves the same answers."""

from __future__ import annotations

from datetime import timedelta

from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
from inventory.availability.sources import Query
from inventory.projection.rebuild import rebuild
from inventory.stock.inbound import InboundIn, record
from inventory.stock.safety import SafetyRule
from tests.inventory.helpers import STORE, STORE_NO_SHIP, T0, VENDOR, WAREHOUSE, ev, sku
from tests.inventory.holding import hold

REBUILD_QUERIES = [
    Query(),
    Query(channel="marketplace"),
    Query(quantity=12),
    Query(on_date=T0 + timedelta(days=4), quantity=20),
    Query(method="pickup", store=STORE.id),
    Query(method="pickup", store=STORE_NO_SHIP.id, quantity=3),
]


def answers(backend, skus: list[str]) -> list:
    return [backend.reader.check(skus, q, detail=d) for q in REBUILD_QUERIES for d in (False, True)]


def raw_state(backend, skus: list[str]) -> tuple:
    projection = backend.projection
    inbound = {s: projection.redis.hgetall(projection.inbound_key(s)) for s in skus}
    return projection.read(skus), inbound, projection.network()


def test_a_rebuild_over_holds_rules_fences_thresholds_and_inbound_serves_the_same(
    desk, ledger, backend
):
    a, b, c = skus = [sku(), sku(), sku()]
    ledger.set_safety_rules(
        [
            SafetyRule(1, location_type="store"),
            SafetyRule(2, sku=b),
            SafetyRule(3, location=STORE.id, sku=a),
        ]
    )
    ledger.set_policy(
        AvailabilityPolicy(
            fences=[ChannelFence(channel="marketplace", location=WAREHOUSE.id, units=2)],
            network_threshold_units=1,
            vendor=VendorConfidence(factor=0.5),
        )
    )
    counts = {a: (10, 6, 4, 10), b: (3, 4, 0, 5), c: (0, 1, 2, 0)}
    places = (WAREHOUSE, STORE, STORE_NO_SHIP, VENDOR)
    ledger.ingest(
        [
            ev(loc.id, s, "count", q)
            for s, qs in counts.items()
            for loc, q in zip(places, qs, strict=True)
            if q
        ]
    )
    record(
        ledger,
        [
            InboundIn(id=f"PO-{a}", location=WAREHOUSE.id, sku=a, quantity=7, expected_at=T0 + timedelta(days=3)),
            InboundIn(id=f"TR-{c}", location=STORE.id, sku=c, quantity=4, expected_at=T0 + timedelta(days=1), kind="transfer"),
        ],
    )  # fmt: skip
    assert desk.hold(hold((a, 4), (b, 1))).status == "held"
    assert desk.hold(hold((a, 1), method="pickup", store=STORE.id)).status == "held"

    before, raw_before = answers(backend, skus), raw_state(backend, skus)
    # the state is as rich as claimed: holds, buffers, fences, the threshold and inbound all show
    positions = raw_before[0]
    assert sum(p.reserved for p in positions[a].values()) == 5
    assert positions[b][STORE.id].safety == 2 and positions[a][STORE.id].safety == 3
    explained = backend.reader.explain(a)
    assert explained.held_back == 1
    assert any(part.fenced == 2 for part in explained.contributions)
    assert raw_before[1][a] and raw_before[1][c]

    report = rebuild(ledger)
    assert report.removed_keys > 0
    assert report.positions >= sum(1 for qs in counts.values() for q in qs if q)
    assert raw_state(backend, skus) == raw_before
    assert answers(backend, skus) == before
