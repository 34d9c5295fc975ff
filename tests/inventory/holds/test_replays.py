"""A hold sent again answers its first result and changes nothing, even once its units are gone or
when its first attempt never reached the projection; the same id with other content conflicts."""

from __future__ import annotations

import pytest

from inventory.holds.outcome import ReservationConflict
from inventory.holds.request import HoldRequest
from tests.inventory.helpers import WAREHOUSE, ev, sku
from tests.inventory.holding import all_at_once, assert_never_oversold, available, hold


def test_replaying_a_hold_returns_the_first_result_and_changes_nothing(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    request = hold((s, 2))
    first = desk.hold(request)
    again = desk.hold(request)
    assert (again.status, again.takes, again.replayed) == ("held", first.takes, True)
    assert available(backend, s) == 3
    with pytest.raises(ReservationConflict):
        desk.hold(hold((s, 1), rid=request.id))


def test_replaying_a_hold_that_took_the_last_units_returns_its_grant_not_a_refusal(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])
    request = hold((s, 2))
    first = desk.hold(request)
    assert available(backend, s) == 0  # the projection now says no to the same request
    again = desk.hold(request)
    assert (again.status, again.takes, again.replayed) == ("held", first.takes, True)
    assert desk.hold(hold((s, 1))).status == "refused"
    with pytest.raises(ReservationConflict):
        desk.hold(hold((s, 3), rid=request.id))


def test_a_hold_contradicting_its_record_fails_alone_in_its_group(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 20)])
    first = desk.hold(hold((s, 1)))
    requests = [hold((s, 2), rid=first.id)] + [hold((s, 1)) for _ in range(7)]

    def attempt(request: HoldRequest) -> str:
        try:
            return desk.hold(request).status
        except ReservationConflict:
            return "conflict"

    statuses = all_at_once(attempt, requests)
    assert statuses == ["conflict"] + ["held"] * 7
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 8
    assert_never_oversold(backend)


def test_on_a_sold_out_sku_a_replay_among_refusals_gets_its_grant(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])
    granted = desk.hold(hold((s, 2)))
    requests = [hold((s, 2), rid=granted.id)] + [hold((s, 1)) for _ in range(7)]

    def attempt(request: HoldRequest) -> tuple[str, bool]:
        outcome = desk.hold(request)
        return outcome.status, outcome.replayed

    answers = all_at_once(attempt, requests)
    assert answers == [("held", True)] + [("refused", False)] * 7
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 2
    assert_never_oversold(backend)


def test_a_hold_committed_while_the_projection_is_down_replays_once_it_is_back(
    desk, backend, monkeypatch
):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    request = hold((s, 2))
    projection = backend.ledger.projection

    def down(_positions) -> None:
        raise ConnectionError("projection unreachable")

    monkeypatch.setattr(projection, "put", down)
    with pytest.raises(ConnectionError):
        desk.hold(request)
    monkeypatch.undo()
    assert available(backend, s) == 5  # committed, but the projection never heard of it
    again = desk.hold(request)
    assert (again.status, again.replayed) == ("held", True)
    assert backend.ledger.position(WAREHOUSE.id, s).reserved == 2
    assert available(backend, s) == 3  # the replay projected what the first attempt held
    assert_never_oversold(backend)
