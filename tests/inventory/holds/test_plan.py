"""Deciding a group of holds against free units: in arrival order, each all or nothing. Pure."""

from __future__ import annotations

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
from inventory.availability.sources import Query, sources_for
from inventory.domain.model import Capability, Location, LocationType
from inventory.holds.plan import Plan, Terms, decide_group, needs
from inventory.holds.request import HoldLine, HoldRequest


def request(rid: str, *lines: tuple[str, int]) -> HoldRequest:
    return HoldRequest(id=rid, lines=[HoldLine(sku=s, quantity=q) for s, q in lines])


def test_holds_are_served_in_arrival_order_until_the_stock_runs_out():
    free = {("DC", "A"): 3}
    items = [(request(f"h{i}", ("A", 2)), Plan([["DC"]])) for i in range(3)]
    decisions = decide_group(items, free)
    assert isinstance(decisions[0], tuple)
    assert decisions[1] == decisions[2] == "line 0: 1 of 2 x A not available" or decisions[
        1
    ].startswith("line 0")
    assert free == {("DC", "A"): 1}


def test_a_refused_hold_gives_back_what_its_other_lines_had_taken():
    free = {("DC", "A"): 5, ("DC", "B"): 0}
    [decision] = decide_group([(request("h", ("A", 2), ("B", 1)), Plan([["DC"], ["DC"]]))], free)
    assert decision.startswith("line 1")
    assert free == {("DC", "A"): 5, ("DC", "B"): 0}


def test_a_line_is_split_over_its_planned_locations_in_order():
    free = {("ST", "A"): 1, ("DC", "A"): 5}
    [takes] = decide_group([(request("h", ("A", 3)), Plan([["ST", "DC"]]))], free)
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
    items = [
        (request(f"h{i}", *lines), Plan([["DC"]] * len(lines))) for i, lines in enumerate(holds)
    ]
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


# -- on availability's terms -------------------------------------------------------------------

DC = Location("DC", LocationType.warehouse, 45.0, 4.0, frozenset({Capability.ship}))
VD = Location("VD", LocationType.dropship, 47.0, -1.0, frozenset({Capability.ship}))

fences = st.lists(
    st.one_of(
        st.builds(ChannelFence, channel=st.just("b2b"), location=st.just("DC"),
                  units=st.integers(0, 8)),
        st.builds(ChannelFence, channel=st.just("b2b"), location=st.just("DC"),
                  share=st.floats(0.0, 1.0)),
    ),
    max_size=3,
)  # fmt: skip


def terms_of(policy: AvailabilityPolicy) -> Terms:
    sources = sources_for({"DC": DC, "VD": VD}, {"DC": 0, "VD": 1}, policy, Query())
    return Terms(sources, policy, now_s=0)


@seed(7)
@settings(max_examples=300, deadline=None)
@given(fences, st.floats(0.0, 1.0), st.integers(0, 60))
def test_more_free_units_never_offer_fewer(fenced, factor, free):
    terms = terms_of(AvailabilityPolicy(fences=fenced, vendor=VendorConfidence(factor=factor)))
    for location in ("DC", "VD"):
        assert 0 <= terms.offered(location, free) <= terms.offered(location, free + 1) <= free + 1


@seed(7)
@settings(max_examples=300, deadline=None)
@given(
    fences,
    st.floats(0.0, 1.0),
    st.integers(0, 40),
    st.lists(st.tuples(st.sampled_from(["DC", "VD"]), st.integers(1, 9)), min_size=1, max_size=8),
)
def test_sql_needs_the_fewest_free_units_on_which_every_take_still_stands(
    fenced, factor, stock, holds
):
    terms = terms_of(AvailabilityPolicy(fences=fenced, vendor=VendorConfidence(factor=factor)))
    items = [
        (
            HoldRequest(id=f"h{i}", lines=[HoldLine(sku="A", quantity=q, location=loc)]),
            Plan([[loc]], [0], terms),
        )
        for i, (loc, q) in enumerate(holds)
    ]
    free = {("DC", "A"): stock, ("VD", "A"): stock}
    decisions = decide_group(items, dict(free))
    need = needs(items, decisions, free)

    def granted(free: dict) -> list:
        return [None if isinstance(d, str) else d for d in decide_group(items, dict(free))]

    for key, units in need.items():
        assert units <= free[key]
        assert granted({**free, key: units}) == granted(free)  # enough: every take stands
        assert granted({**free, key: units - 1}) != granted(free)  # the fewest: one less fails


@given(st.permutations([0.6, 0.3, 0.1]), st.sampled_from([10, 100, 10**6]))
def test_shares_that_add_up_to_everything_fence_everything_in_any_order(shares, free):
    fenced = [ChannelFence(channel="b2b", location="DC", share=share) for share in shares]
    assert terms_of(AvailabilityPolicy(fences=fenced)).offered("DC", free) == 0


def test_a_share_fence_rounds_exactly_not_as_floating_point_does():
    fence = ChannelFence(channel="b2b", location="DC", share=0.29)  # 0.29 * 100 = 28.999...
    assert terms_of(AvailabilityPolicy(fences=[fence])).offered("DC", 100) == 71
