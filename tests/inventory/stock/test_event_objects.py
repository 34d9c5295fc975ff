"""Stock events built in Python get the checks a feed's mappings get, on both backends alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from inventory import EventType, StockEvent
from tests.inventory.helpers import T0, WAREHOUSE, sku

GOOD = StockEvent("e-ok", WAREHOUSE.id, "SKU-OBJ", EventType.count, 10, T0, "wms")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sku": "S" * 200}, "sku: 1 to 64"),
        ({"location": "bad place"}, "location: 1 to 64"),
        ({"event_id": "bad\x00id"}, "event_id: no control characters"),
        ({"event_id": "   "}, "event_id: no control characters, not blank"),
        ({"type": "receive"}, "type: one of"),
        ({"quantity": True}, "quantity: a whole number"),
        ({"source": "x" * 65}, "source: at most 64"),
    ],
)
def test_a_bad_event_object_is_refused_and_the_rest_of_its_batch_applies(backend, change, reason):
    backend.ledger.upsert_locations([WAREHOUSE])
    s = sku()
    good = replace(GOOD, event_id=f"ok-{s}", sku=s)
    bad = replace(GOOD, **{"event_id": f"bad-{s}", "sku": s, **change})

    result = backend.ledger.ingest([bad, good])

    [(_, refused), (_, applied)] = result.verdicts
    assert refused.outcome.value == "rejected" and reason in refused.reason
    assert applied.outcome.value == "applied"
    assert backend.ledger.position(WAREHOUSE.id, s).on_hand == 10
