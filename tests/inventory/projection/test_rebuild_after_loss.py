"""A projection lost with its Redis server (back empty, as one without persistence comes back) is
never served empty while it is rebuilt: readers are refused until the rebuilt generation is live,
never told that every SKU is out of stock."""

from __future__ import annotations

import pytest

from inventory.availability.reader import NetworkNotPublished
from inventory.projection.rebuild import rebuild
from inventory.projection.vouch import vouch
from tests.inventory.helpers import WAREHOUSE, ev, sku


class PublishFailed(RuntimeError):
    pass


def lost_with_its_server(ledger, backend, units: int) -> str:
    """A SKU counted and projected, then the projection wiped as a restart without persistence
    leaves it; readers are refused."""
    s = sku()
    ledger.ingest([ev(WAREHOUSE.id, s, "count", units)])
    rebuild(ledger, grace_s=0.1)
    backend.projection.wipe()
    with pytest.raises(NetworkNotPublished):
        backend.reader.check([s])
    return s


def test_the_first_read_a_rebuild_lets_through_after_a_loss_shows_the_stock(
    ledger, backend, monkeypatch
):
    s = lost_with_its_server(ledger, backend, units=6)
    publish, first_reads = ledger.publish_network, []

    def publish_then_read() -> str:
        version = publish()
        first_reads.append(backend.reader.check([s])[0].available)
        return version

    monkeypatch.setattr(ledger, "publish_network", publish_then_read)
    rebuild(ledger, grace_s=0.1)

    assert first_reads == [6]


def test_a_rebuild_that_cannot_publish_its_network_is_built_again_at_the_next_check(
    ledger, backend, monkeypatch
):
    s = lost_with_its_server(ledger, backend, units=4)

    def fail() -> str:
        raise PublishFailed("SQL went away after the switch")

    monkeypatch.setattr(ledger, "publish_network", fail)
    with pytest.raises(PublishFailed):
        rebuild(ledger, grace_s=0.1)
    monkeypatch.undo()

    assert vouch(ledger).rebuilt_because is not None
    assert backend.reader.check([s])[0].available == 4
