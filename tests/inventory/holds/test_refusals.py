"""Bad hold input is refused and changes nothing (invariant 6): a request that does not validate
is refused before anything is read, and one that does but cannot be served leaves the SQL
positions, the projection's records and the reservations as they were."""

from __future__ import annotations

import uuid
from functools import partial

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from inventory.holds.outcome import ReservationConflict
from inventory.holds.request import HoldLine, HoldRequest
from tests.inventory.helpers import STORE, WAREHOUSE, ev, sku
from tests.inventory.holding import POS, available, hold, reservation_rows, together


def test_bad_hold_requests_are_refused_before_anything_changes():
    with pytest.raises(ValueError, match="greater than 0"):
        HoldRequest(id="x", lines=[HoldLine(sku="S", quantity=0)])
    with pytest.raises(ValueError, match="at least 1 item"):
        HoldRequest(id="x", lines=[])
    with pytest.raises(ValueError, match="names its store"):
        HoldRequest(id="x", lines=[HoldLine(sku="S", quantity=1)], method="pickup")
    with pytest.raises(ValueError, match="Extra inputs"):
        HoldRequest.model_validate({"id": "x", "lines": [{"sku": "S", "quantity": 1}], "price": 3})


def recorded_state(backend, skus: list[str]) -> tuple:
    """Everything a hold could touch for `skus`: the SQL positions (every column, the version
    too), the projection's raw record bytes, and every reservation with its lines."""
    projection = backend.projection
    with backend.ledger.engine.connect() as conn:
        positions = sorted(tuple(r) for r in conn.execute(select(POS).where(POS.c.sku.in_(skus))))
    records = {s: projection.raw.get(projection.stock_key(s)) for s in skus}
    return positions, records, reservation_rows(backend)


def assert_refused_without_a_trace(
    desk, backend, request: HoldRequest, skus: list[str], reason: str = "not available"
):
    before = recorded_state(backend, skus)
    assert any(before[1].values()), "the projection holds none of these SKUs: nothing to compare"
    outcome = desk.hold(request)
    assert (outcome.status, outcome.takes) == ("refused", ()), outcome
    assert reason in outcome.reason
    assert recorded_state(backend, skus) == before
    assert request.id not in before[2]


def stocked(backend) -> str:
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 10), ev(STORE.id, s, "count", 10)])
    return s


def test_a_hold_pinned_to_an_unknown_location_is_refused_and_changes_nothing(desk, backend):
    s = stocked(backend)
    request = HoldRequest(
        id=uuid.uuid4().hex,
        lines=[HoldLine(sku=s, quantity=1), HoldLine(sku=s, quantity=1, location="DC-NOWHERE")],
    )
    reason = "line 1: unknown location 'DC-NOWHERE'"
    assert_refused_without_a_trace(desk, backend, request, [s], reason)


@pytest.mark.parametrize("counted_to_zero", [False, True], ids=["never-seen", "counted-to-zero"])
def test_a_hold_for_a_sku_with_no_stock_anywhere_is_refused_and_changes_nothing(
    desk, backend, counted_to_zero
):
    s, empty = stocked(backend), sku()
    if counted_to_zero:
        backend.ledger.ingest([ev(WAREHOUSE.id, empty, "count", 0)])
    request = hold((s, 1), (empty, 1))  # all or nothing: the stocked line takes nothing either
    assert_refused_without_a_trace(desk, backend, request, [s, empty])


def test_a_pickup_hold_at_an_unknown_store_is_refused_and_changes_nothing(desk, backend):
    s = stocked(backend)
    request = hold((s, 1), method="pickup", store="ST-NOWHERE")
    reason = "unknown pickup store 'ST-NOWHERE'"
    assert_refused_without_a_trace(desk, backend, request, [s], reason)


def test_a_hold_reusing_an_id_with_other_content_raises_a_conflict_and_changes_nothing(
    desk, backend
):
    s = stocked(backend)
    first = desk.hold(hold((s, 2)))
    assert first.status == "held"
    before = recorded_state(backend, [s])
    others = [hold((s, q), rid=first.id) for q in (3, 100)]  # one SQL decides, one the projection
    for other in [*others, hold((s, 2), rid=first.id, channel="store")]:
        with pytest.raises(ReservationConflict):
            desk.hold(other)
    assert recorded_state(backend, [s]) == before
    assert available(backend, s) == 18


def test_a_pickup_hold_names_what_is_wrong_with_its_store(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    outcome = desk.hold(hold((s, 1), method="pickup", store=WAREHOUSE.id))
    assert (outcome.status, outcome.reason) == (
        "refused",
        f"{WAREHOUSE.id!r} is not a pickup point",
    )


def test_a_hold_given_as_a_mapping_is_validated_like_a_request(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    outcome = desk.hold({"id": uuid.uuid4().hex, "lines": [{"sku": s, "quantity": 2}]})
    assert outcome.status == "held"
    with pytest.raises(ValidationError, match="quantity"):
        desk.hold({"id": uuid.uuid4().hex, "lines": [{"sku": s, "quantity": "lots"}]})
    with pytest.raises(TypeError, match="not list"):
        desk.hold([s, 2])
    assert available(backend, s) == 3


@pytest.mark.parametrize("bad_id", ["bad\x00", "   ", "line\nbreak", "del\x7f"])
def test_a_hold_id_with_a_control_character_or_only_blanks_is_refused_at_the_boundary(bad_id):
    with pytest.raises(ValidationError, match="id"):
        HoldRequest(id=bad_id, lines=[HoldLine(sku="SKU-1", quantity=1)])
    with pytest.raises(ValidationError, match="channel"):
        HoldRequest(id="ok", lines=[HoldLine(sku="SKU-1", quantity=1)], channel=bad_id)


def test_a_bad_hold_among_concurrent_ones_fails_alone(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 20)])

    def attempt(request_id: str):
        try:
            return desk.hold({"id": request_id, "lines": [{"sku": s, "quantity": 1}]}).status
        except ValidationError:
            return "invalid"

    ids = [uuid.uuid4().hex for _ in range(11)] + ["bad\x00"]
    answers = together(*(partial(attempt, request_id) for request_id in ids))
    assert answers == ["held"] * 11 + ["invalid"]
    assert available(backend, s) == 9
