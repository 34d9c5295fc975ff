"""The hold writer's recent view: what it answers from memory, what it lays over, what it drops."""

from __future__ import annotations

from inventory.domain.projected import Projected
from inventory.holds import recent_view as hold_view
from inventory.holds.recent_view import RecentView


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def at(version: int, on_hand: int, reserved: int = 0) -> Projected:
    return Projected(version, on_hand, reserved, 0, 0)


def test_a_read_is_answered_from_memory_until_it_is_older_than_the_ttl() -> None:
    clock = Clock()
    view = RecentView(ttl_s=0.05, clock=clock)
    view.remember({"A": None}, "v1", {"A": {"W": at(1, 5)}})
    assert view.get({"A": None}) == ("v1", {"A": {"W": at(1, 5)}})
    clock.now += 0.06
    assert view.get({"A": None}) is None


def test_every_sku_of_a_group_must_be_remembered_under_one_network_version() -> None:
    view = RecentView(ttl_s=1, clock=Clock())
    view.remember({"A": None}, "v1", {"A": {}})
    assert view.get({"A": None, "B": None}) is None
    view.remember({"B": None}, "v2", {"B": {}})
    assert view.get({"A": None, "B": None}) is None  # read under another network version
    view.remember({"A": None, "B": None}, "v2", {"A": {}, "B": {}})
    assert view.get({"A": None, "B": None}) == ("v2", {"A": {}, "B": {}})


def test_a_read_of_named_locations_is_not_a_read_of_the_whole_sku() -> None:
    view = RecentView(ttl_s=1, clock=Clock())
    view.remember({"A": ["S1", "W"]}, "v", {"A": {"W": at(1, 5)}})
    assert view.get({"A": ["W", "S1", "W"]}) == ("v", {"A": {"W": at(1, 5)}})
    assert view.get({"A": None}) is None
    assert view.get({"A": ["W"]}) is None


def test_commits_are_laid_over_the_reads_that_cover_them_and_never_move_them_back() -> None:
    view = RecentView(ttl_s=1, clock=Clock())
    view.remember({"A": None}, "v", {"A": {"W": at(3, 5)}})
    view.remember({"A": ["W"]}, "v", {"A": {"W": at(3, 5)}})
    view.remember({"A": ["S1"]}, "v", {"A": {}})
    view.lay_over({("W", "A"): at(4, 5, reserved=2), ("S2", "A"): at(1, 9)})
    assert view.get({"A": None}) == ("v", {"A": {"W": at(4, 5, 2), "S2": at(1, 9)}})
    assert view.get({"A": ["W"]}) == ("v", {"A": {"W": at(4, 5, 2)}})
    assert view.get({"A": ["S1"]}) == ("v", {"A": {}})  # S2 is not what it asked for
    view.lay_over({("W", "A"): at(2, 1)})  # older than what the view holds
    assert view.get({"A": ["W"]}) == ("v", {"A": {"W": at(4, 5, 2)}})


def test_what_a_caller_changes_in_an_answer_is_not_remembered() -> None:
    view = RecentView(ttl_s=1, clock=Clock())
    view.remember({"A": None}, "v", {"A": {"W": at(1, 5)}})
    _, found = view.get({"A": None})
    found["A"]["W"] = at(9, 0)
    assert view.get({"A": None}) == ("v", {"A": {"W": at(1, 5)}})


def test_forgetting_a_sku_drops_every_read_of_it() -> None:
    view = RecentView(ttl_s=1, clock=Clock())
    view.remember({"A": None, "B": None}, "v", {"A": {}, "B": {}})
    view.remember({"A": ["W"]}, "v", {"A": {}})
    view.forget(["A"])
    assert view.get({"A": None}) is None and view.get({"A": ["W"]}) is None
    assert view.get({"B": None}) == ("v", {"B": {}})
    assert len(view) == 1


def test_the_view_stays_bounded(monkeypatch) -> None:
    monkeypatch.setattr(hold_view, "MAX_ENTRIES", 10)
    clock = Clock()
    view = RecentView(ttl_s=1, clock=clock)
    for i in range(8):
        view.remember({f"old{i}": None}, "v", {})
    clock.now += 2  # all of them expired: they make room
    view.remember({f"new{i}": None for i in range(5)}, "v", {})
    assert len(view) == 5
    view.remember({f"more{i}": None for i in range(8)}, "v", {})  # none expired: start over
    assert len(view) == 8
    assert view.get({"more0": None}) == ("v", {"more0": {}})
    view.remember({f"wide{i}": None for i in range(11)}, "v", {})  # wider than the bound
    assert len(view) == 8 and view.get({"wide0": None}) is None
