"""Fixtures shared by the inventory tests, in every sub-package."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory.holds.service import Reservations
from tests.inventory.helpers import NETWORK, T0


@pytest.fixture(params=[True, False], ids=["group-commit", "one-by-one"])
def desk(backend, request):
    """Reservations on the test network, with group commit and one hold at a time."""
    backend.ledger.upsert_locations(NETWORK)
    reservations = Reservations(backend.ledger, backend.reader, group_commit=request.param)
    yield reservations
    reservations.close()


@pytest.fixture
def ledger(backend):
    """The ledger on the test network, its clock and the reader's an hour after the test events."""
    backend.ledger.upsert_locations(NETWORK)
    backend.ledger.clock = backend.reader.clock = lambda: T0 + timedelta(hours=1)
    return backend.ledger
