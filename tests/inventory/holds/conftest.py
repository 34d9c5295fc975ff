"""Fixtures shared by the hold tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.inventory.helpers import T0


@pytest.fixture
def at_t0(backend):
    """Clocks an hour after the test events, so the vendor's feed is fresh."""
    backend.ledger.clock = backend.reader.clock = lambda: T0 + timedelta(hours=1)
