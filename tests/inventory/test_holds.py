"""Deciding a group of holds against free units: in arrival order, each all or nothing. Pure."""

from __future__ import annotations

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from inventory.holds import HoldLine, HoldRequest, decide_group


def request(rid: str, *lines: tuple[str, int]) -> HoldRequest:
    return HoldRequest(id=rid, lines=[HoldLine(sku=s, quantity=q) for s, q in lines])


def test_holds_are_served_in_arrival_order_until_the_stock_runs_out():
    free = {("DC", "A"): 3}
    items = [(request(f"h{i}", ("A", 2)), [["DC"]]) for i in range(3)]
    decisions = decide_group(items, free)
    assert isinstance(decisions[0], tuple)
    assert decisions[1] == decisions[2] == "line 0: 1 of 2 x A not available" or decisions[
        1
    ].startswith("line 0")
    assert free == {("DC", "A"): 1}


def test_a_refused_hold_gives_back_what_its_other_lines_had_taken():
    free = {("DC", "A"): 5, ("DC", "B"): 0}
    [decision] = decide_group([(request("h", ("A", 2), ("B", 1)), [["DC"], ["DC"]])], free)
    assert decision.startswith("line 1")
    assert free == {("DC", "A"): 5, ("DC", "B"): 0}


def test_a_line_is_split_over_its_planned_locations_in_order():
    free = {("ST", "A"): 1, ("DC", "A"): 5}
    [takes] = decide_group([(request("h", ("A", 3)), [["ST", "DC"]])], free)
    assert [(t.location, t.quantity) for t in takes] == [("DC", 2), ("ST", 1)]


@seed(7)
@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(0, 6), min_size=3, max_size=3),
    st.lists(
        st.lists(
            st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 4)),
            min_size=1,
            max_size=3,
            unique_by=lambda x: x[0],
        ),
        max_size=12,
    ),
)
def test_a_group_never_takes_more_than_is_free_and_every_hold_is_whole_or_nothing(stock, holds):
    free = {("DC", sku): units for sku, units in stock.items()}
    items = [(request(f"h{i}", *lines), [["DC"]] * len(lines)) for i, lines in enumerate(holds)]
    decisions = decide_group(items, dict(free))
    taken: dict[str, int] = {}
    for (req, _), decision in zip(items, decisions, strict=True):
        if isinstance(decision, str):
            continue
        assert {t.sku: t.quantity for t in decision} == {
            line.sku: line.quantity for line in req.lines
        }
        for t in decision:
            taken[t.sku] = taken.get(t.sku, 0) + t.quantity
    assert all(taken.get(sku, 0) <= units for sku, units in stock.items())
