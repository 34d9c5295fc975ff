"""Fixtures shared by the inventory tests."""

from __future__ import annotations

import pytest

from inventory.holds.service import Reservations
from tests.inventory.helpers import NETWORK


@pytest.fixture(params=[True, False], ids=["group-commit", "one-by-one"])
def desk(backend, request):
    """Reservations on the test network, with group commit and one hold at a time."""
    backend.ledger.upsert_locations(NETWORK)
    reservations = Reservations(backend.ledger, backend.reader, group_commit=request.param)
    yield reservations
    reservations.close()
