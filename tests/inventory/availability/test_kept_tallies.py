"""The reader keeps the tallies of records it has seen: a kept tally must answer exactly what a
fresh one would, as the clock moves across a vendor feed's age limit and as the record changes."""

from __future__ import annotations

from datetime import timedelta

from tests.inventory.availability.test_availability import stock
from tests.inventory.helpers import T0, WAREHOUSE, ev, sku


def test_a_kept_tally_is_made_again_once_a_vendor_feed_it_counts_goes_stale(ledger, backend):
    s = sku()
    stock(ledger, s, dc=5, vendor=50)  # reported at T0; trusted 48 h, at 80 %
    backend.reader.clock = lambda: T0 + timedelta(hours=47)
    assert backend.reader.check([s])[0].available == 5 + 40
    backend.reader.clock = lambda: T0 + timedelta(hours=48, seconds=1)
    assert backend.reader.check([s])[0].available == 5


def test_a_kept_tally_is_not_used_by_a_clock_that_went_back(ledger, backend):
    s = sku()
    stock(ledger, s, vendor=50)
    backend.reader.clock = lambda: T0 + timedelta(hours=49)
    assert backend.reader.check([s])[0].available == 0
    backend.reader.clock = lambda: T0 + timedelta(hours=47)
    assert backend.reader.check([s])[0].available == 40


def test_a_changed_record_is_tallied_again(ledger, backend):
    s = sku()
    stock(ledger, s, dc=5)
    assert backend.reader.check([s])[0].available == 5
    ledger.ingest([ev(WAREHOUSE.id, s, "count", 7, minutes=5)])
    assert backend.reader.check([s])[0].available == 7


def test_a_cart_mixing_kept_and_new_tallies_answers_each_line_as_alone(ledger, backend):
    first, second = sku(), sku()
    stock(ledger, first, dc=3, vendor=10)
    stock(ledger, second, dc=4, store=2)
    alone = [backend.reader.check([first])[0].available]
    both = backend.reader.check([first, second])
    assert [line.available for line in both] == [*alone, 4 + 2]
