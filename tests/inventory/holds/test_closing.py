"""A hold is closed exactly once (invariant 2): released, consumed or expired, even when the three
race for a hold that is due."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select

from inventory.holds.expiry import ExpirySweeper
from inventory.holds.service import Reservations
from tests.inventory.helpers import NETWORK, STORE, T0, WAREHOUSE, ev, sku
from tests.inventory.holding import RES, assert_never_oversold, available, hold, together

RACE_ROUNDS = 30


def test_a_hold_is_released_exactly_once(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    outcome = desk.hold(hold((s, 2)))
    assert desk.release(outcome.id) == "released"
    assert desk.release(outcome.id) == "released"
    assert available(backend, s) == 5
    assert_never_oversold(backend)


def test_a_consumed_hold_keeps_its_units_for_the_order_and_cannot_be_released(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    outcome = desk.hold(hold((s, 2)))
    assert desk.consume(outcome.id, "O-1") == "consumed"
    assert desk.release(outcome.id) == "consumed"
    assert available(backend, s) == 3
    assert_never_oversold(backend)


def test_expired_holds_go_back_to_availability_exactly_once(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 5)])
    now = T0 + timedelta(hours=1)
    backend.ledger.clock = lambda: now
    desk.hold(hold((s, 2), ttl_s=60))
    desk.hold(hold((s, 1)))
    assert desk.expire_due() == 0
    now = T0 + timedelta(hours=1, minutes=2)
    assert desk.expire_due() == 1
    assert desk.expire_due() == 0
    assert available(backend, s) == 4
    assert_never_oversold(backend)


def test_expired_holds_are_released_without_anyone_calling(desk, backend):
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    desk.hold(hold((s, 3), ttl_s=1))
    assert available(backend, s) == 0
    sweeper = ExpirySweeper(desk.expire_due, interval_s=0.2).start()
    try:
        deadline = time.monotonic() + 10
        while available(backend, s) != 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sweeper.stop()
    assert available(backend, s) == 3


def status_of(backend, rid: str) -> str:
    with backend.ledger.engine.connect() as conn:
        return conn.scalar(select(RES.c.status).where(RES.c.id == rid))


@pytest.fixture
def group_desk(backend):
    backend.ledger.upsert_locations(NETWORK)
    reservations = Reservations(backend.ledger, backend.reader, group_commit=True)
    yield reservations
    reservations.close()


def test_a_hold_raced_by_release_consume_and_expiry_is_closed_exactly_once(group_desk, backend):
    """Every third round the hold is not yet due, and release and consume race for it; otherwise
    it is due, and whoever comes first expires it (a due hold can no longer be consumed)."""
    desk = group_desk
    a, b = sku(), sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, a, "count", 200), ev(STORE.id, b, "count", 200)])
    now = [T0 + timedelta(hours=1)]
    backend.ledger.clock = lambda: now[0]
    bystander = desk.hold(hold((a, 1), (b, 1), kind="allocation"))  # never due: keeps reserved > 0
    consumed = {a: 0, b: 0}
    for round_ in range(RACE_ROUNDS):
        now[0] = T0 + timedelta(hours=1, minutes=10 * round_)
        before = {a: available(backend, a), b: available(backend, b)}
        held = desk.hold(hold((a, 2), (b, 1), ttl_s=60))
        assert held.status == "held", held.reason
        due = round_ % 3 != 0
        now[0] += timedelta(minutes=2 if due else 0)

        calls = {
            "release": partial(desk.release, held.id),
            "consume": partial(desk.consume, held.id, f"O-{held.id}"),
            "expire": desk.expire_due,
        }
        order = list(calls)[round_ % 3 :] + list(calls)[: round_ % 3]  # each gets to start last
        answers = dict(zip(order, together(*(calls[name] for name in order)), strict=True))

        final = status_of(backend, held.id)
        released, taken, expired = answers["release"], answers["consume"], answers["expire"]
        if due:
            assert (final, released, taken) == ("expired",) * 3, (round_, answers)
            assert expired in (0, 1), round_
        else:
            assert expired == 0, round_
            assert [released == "released", taken == "consumed"].count(True) == 1, answers
            assert (released, taken) == (final, final), round_
        if final == "consumed":
            consumed[a], consumed[b] = consumed[a] + 2, consumed[b] + 1
        after = {a: available(backend, a), b: available(backend, b)}
        kept = {a: 2, b: 1} if final == "consumed" else {a: 0, b: 0}
        assert after == {s: before[s] - kept[s] for s in (a, b)}, round_
        assert_never_oversold(backend)
    assert backend.ledger.position(WAREHOUSE.id, a).reserved == 1 + consumed[a]
    assert backend.ledger.position(STORE.id, b).reserved == 1 + consumed[b]
    assert status_of(backend, bystander.id) == "held"
