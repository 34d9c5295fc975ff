"""Deciding a group of holds against the positions: in arrival order, each all or nothing. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from inventory.availability.compute import compute
from inventory.availability.policy import AvailabilityPolicy, ChannelFence, VendorConfidence
from inventory.availability.sources import Query, sources_for
from inventory.domain.model import Capability, Location, LocationType
from inventory.domain.projected import Projected
from inventory.holds.plan import Plan, Standing, Terms, decide_group, plain
from inventory.holds.request import HoldLine, HoldRequest


def free(units: dict) -> dict:
    """Positions with `units` free each (nothing held, no buffer)."""
    return {key: Standing(n, 0, 0) for key, n in units.items()}


def left(positions: dict) -> dict:
    return {key: p.free for key, p in positions.items()}


def request(rid: str, *lines: tuple[str, int]) -> HoldRequest:
    return HoldRequest(id=rid, lines=[HoldLine(sku=s, quantity=q) for s, q in lines])


def test_holds_are_served_in_arrival_order_until_the_stock_runs_out():
    positions = free({("DC", "A"): 3})
    items = [(request(f"h{i}", ("A", 2)), Plan([["DC"]])) for i in range(3)]
    decisions = decide_group(items, positions)
    assert isinstance(decisions[0], tuple)
    assert decisions[1] == decisions[2] == "line 0: 1 of 2 x A not available" or decisions[
        1
    ].startswith("line 0")
    assert left(positions) == {("DC", "A"): 1}


def test_a_refused_hold_gives_back_what_its_other_lines_had_taken():
    positions = free({("DC", "A"): 5, ("DC", "B"): 0})
    [decision] = decide_group(
        [(request("h", ("A", 2), ("B", 1)), Plan([["DC"], ["DC"]]))], positions
    )
    assert decision.startswith("line 1")
    assert left(positions) == {("DC", "A"): 5, ("DC", "B"): 0}


def test_a_line_is_split_over_its_planned_locations_in_order():
    positions = free({("ST", "A"): 1, ("DC", "A"): 5})
    [takes] = decide_group([(request("h", ("A", 3)), Plan([["ST", "DC"]]))], positions)
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
    items = [
        (request(f"h{i}", *lines), Plan([["DC"]] * len(lines))) for i, lines in enumerate(holds)
    ]
    decisions = decide_group(items, free({("DC", sku): units for sku, units in stock.items()}))
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
@given(fences, st.floats(0.0, 1.0), st.integers(-5, 60), st.integers(0, 60), st.integers(0, 5))
def test_more_stock_never_offers_fewer_and_more_held_never_offers_more(
    fenced, factor, on_hand, reserved, safety
):
    terms = terms_of(AvailabilityPolicy(fences=fenced, vendor=VendorConfidence(factor=factor)))
    for location in ("DC", "VD"):
        here = terms.offered(location, Standing(on_hand, reserved, safety))
        assert 0 <= here <= max(0, on_hand - reserved - safety)
        assert here <= terms.offered(location, Standing(on_hand + 1, reserved, safety))
        assert here >= terms.offered(location, Standing(on_hand, reserved + 1, safety))


def test_a_group_taking_from_a_vendor_or_a_fenced_position_is_not_plain():
    terms = terms_of(
        AvailabilityPolicy(fences=[ChannelFence(channel="b2b", location="DC", units=1)])
    )
    for location in ("DC", "VD"):
        items = [(request("h", ("A", 1)), Plan([[location]], [0], terms))]
        decisions = decide_group(items, {(location, "A"): Standing(10, 0, 0)})
        assert isinstance(decisions[0], tuple) and not plain(items, decisions)
    bare = terms_of(AvailabilityPolicy())
    items = [(request("h", ("A", 1)), Plan([["DC"]], [0], bare))]
    assert plain(items, decide_group(items, {("DC", "A"): Standing(10, 0, 0)}))


@given(st.permutations([0.6, 0.3, 0.1]), st.sampled_from([10, 100, 10**6]))
def test_shares_that_add_up_to_everything_fence_everything_in_any_order(shares, free):
    fenced = [ChannelFence(channel="b2b", location="DC", share=share) for share in shares]
    assert terms_of(AvailabilityPolicy(fences=fenced)).offered("DC", Standing(free, 0, 0)) == 0


def test_a_share_fence_rounds_exactly_not_as_floating_point_does():
    fence = ChannelFence(channel="b2b", location="DC", share=0.29)  # 0.29 * 100 = 28.999...
    assert terms_of(AvailabilityPolicy(fences=[fence])).offered("DC", Standing(100, 0, 0)) == 71


# -- fences and vendors: availability and holds give the same numbers -----------------------

CHANNELS = ("web", "store", "b2b")
NUMBERS = {channel: i + 1 for i, channel in enumerate(CHANNELS)}
channel_fences = st.lists(
    st.one_of(
        st.builds(ChannelFence, channel=st.sampled_from(CHANNELS), location=st.just("DC"),
                  units=st.integers(0, 6)),
        st.builds(ChannelFence, channel=st.sampled_from(CHANNELS),
                  location_type=st.just("dropship"), share=st.sampled_from([0.1, 0.25, 0.5, 0.7])),
        st.builds(ChannelFence, channel=st.sampled_from(CHANNELS), location=st.just("DC"),
                  share=st.sampled_from([0.1, 0.25, 0.5, 0.7])),
    ),
    max_size=3,
)  # fmt: skip


def shown(policy: AvailabilityPolicy, channel: str, location: str, position: Standing) -> int:
    """What availability shows `channel` at one position, read as the projection packs it:
    the position's entry and its channels' pool entries."""
    sources = sources_for(
        {"DC": DC, "VD": VD}, {"DC": 0, "VD": 1}, policy, Query(channel=channel),
        {n: c for c, n in NUMBERS.items()},
    )  # fmt: skip
    value = Projected(1, position.on_hand, position.reserved, position.safety, 10**9,
                      {c: n for c, n in position.by_channel.items() if n})  # fmt: skip
    record = value.pack({"DC": 0, "VD": 1}[location], NUMBERS.__getitem__)
    now = datetime.fromtimestamp(10**9, UTC)
    return compute("A", record, {}, sources, policy, Query(channel=channel), now, True).available


@seed(11)
@settings(max_examples=150, deadline=None)
@given(
    channel_fences,
    st.sampled_from([0.5, 0.8, 1.0]),
    st.sampled_from(["DC", "VD"]),
    st.integers(0, 30),
    st.integers(0, 4),
    st.lists(st.tuples(st.sampled_from(CHANNELS), st.integers(1, 6)), max_size=10),
)
def test_availability_shows_each_channel_exactly_what_its_holds_can_take_whatever_came_before(
    fenced, factor, location, on_hand, safety, holds
):
    policy = AvailabilityPolicy(fences=fenced, vendor=VendorConfidence(factor=factor))
    sources = {
        c: sources_for({"DC": DC, "VD": VD}, {"DC": 0, "VD": 1}, policy, Query(channel=c))
        for c in CHANNELS
    }
    position = Standing(on_hand, 0, safety)

    def granted(channel: str, units: int, at: Standing) -> bool:
        hold = HoldRequest(id="h", channel=channel, lines=[HoldLine(sku="A", quantity=units)])
        plan = Plan([[location]], [0], Terms(sources[channel], policy, now_s=0))
        return isinstance(decide_group([(hold, plan)], {(location, "A"): at})[0], tuple)

    source = sources["web"].by_location[location]
    stock = source.stock(on_hand, safety, factor)
    seen_by = {c: sources[c].by_location[location].kept for c in CHANNELS}
    others = {c: CHANNELS[(i + 1) % len(CHANNELS)] for i, c in enumerate(CHANNELS)}
    kept = {  # K_c: what c's fences keep here, as another channel's source sees them
        c: sum(f.kept(stock) for f in seen_by[others[c]] if f.channel == c) for c in CHANNELS
    }
    for channel, units in [*holds, (None, 0)]:
        for asking in CHANNELS:
            offered = shown(policy, asking, location, position)
            copy = Standing(position.on_hand, position.reserved, position.safety,
                            dict(position.by_channel))  # fmt: skip
            assert offered == 0 or granted(asking, offered, copy)
            assert not granted(asking, offered + 1, copy)
            if sum(kept.values()) <= stock:  # fences that fit the stock are never reached
                assert offered >= kept[asking] - position.by_channel.get(asking, 0)
        if channel is not None:
            granted(channel, units, position)  # in place: taken, or nothing
