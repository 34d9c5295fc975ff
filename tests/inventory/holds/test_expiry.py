"""Expiry: a cart hold is due after its TTL or the engine's configured one; an allocation never."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from dom.bootstrap import build
from dom.settings import Settings
from inventory import HoldStatus, Reservations
from inventory.domain.time import to_micros
from tests.inventory.helpers import NETWORK, T0, WAREHOUSE, ev, sku
from tests.inventory.holding import available, hold


@pytest.fixture
def clocked(backend):
    """A desk whose clock the test moves."""
    backend.ledger.upsert_locations(NETWORK)
    now = [T0 + timedelta(hours=1)]
    backend.ledger.clock = lambda: now[0]
    desk = Reservations(backend.ledger, backend.reader, group_commit=False, cart_ttl_s=60)
    yield desk, now
    desk.close()


def test_a_cart_hold_that_names_no_ttl_expires_after_the_configured_one(clocked, backend):
    desk, now = clocked
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    held = desk.hold(hold((s, 2)))
    assert held.status is HoldStatus.held
    assert held.expires_us == to_micros(now[0]) + 60 * 1_000_000
    now[0] += timedelta(seconds=59)
    assert desk.expire_due() == 0
    now[0] += timedelta(seconds=1)
    assert desk.expire_due() == 1
    assert available(backend, s) == 3


def test_a_cart_hold_that_names_its_ttl_keeps_it(clocked, backend):
    desk, now = clocked
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    held = desk.hold(hold((s, 1), ttl_s=600))
    assert held.expires_us == to_micros(now[0]) + 600 * 1_000_000
    now[0] += timedelta(seconds=599)
    assert desk.expire_due() == 0


def test_an_allocation_is_never_due(clocked, backend):
    desk, now = clocked
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    held = desk.hold(hold((s, 2), kind="allocation"))
    assert (held.status, held.expires_us) == (HoldStatus.held, None)
    now[0] += timedelta(days=30)
    assert desk.expire_due() == 0
    assert available(backend, s) == 1


def test_an_allocation_that_names_a_ttl_is_refused_at_the_boundary():
    with pytest.raises(ValidationError, match="an allocation does not expire"):
        hold(("SKU-1", 1), kind="allocation", ttl_s=60)


def test_a_retried_cart_hold_is_a_replay_under_the_default_ttl(clocked, backend):
    desk, _ = clocked
    s = sku()
    backend.ledger.ingest([ev(WAREHOUSE.id, s, "count", 3)])
    request = hold((s, 2))
    first, again = desk.hold(request), desk.hold(request)
    assert (first.status, again.status, again.replayed) == ("held", "held", True)
    assert again.expires_us == first.expires_us
    assert available(backend, s) == 1


def test_the_engine_gives_cart_holds_the_ttl_it_is_configured_with(tmp_path, monkeypatch):
    monkeypatch.setenv("DOM_RESERVATION_TTL_S", "42")
    engine = build(Settings(data_dir=tmp_path / "var"))
    try:
        engine.ledger.upsert_locations(NETWORK)
        s = sku()
        engine.ledger.ingest([ev(WAREHOUSE.id, s, "count", 2)])
        before_us = to_micros(engine.ledger.clock())
        held = engine.reservations.hold(hold((s, 1)))
        assert before_us + 42 * 1_000_000 <= held.expires_us <= before_us + 43 * 1_000_000
    finally:
        engine.close()
