"""The hold writer's inbox: a group is what is queued, and a short wait for the callers expected."""

from __future__ import annotations

import threading
import time

from inventory.holds import inbox as hold_inbox
from inventory.holds.inbox import Inbox, Pending
from inventory.holds.request import HoldLine, HoldRequest


def pending(n: int) -> list[Pending]:
    line = HoldLine(sku="S", quantity=1)
    return [Pending(HoldRequest(id=f"h{i}", lines=[line])) for i in range(n)]


def filled(items: list[Pending]) -> Inbox:
    inbox = Inbox()
    for item in items:
        inbox.put(item)
    return inbox


class _Watched(threading.Condition):
    """The inbox's condition, telling when its taker starts to wait on it."""

    def __init__(self) -> None:
        super().__init__(threading.Lock())
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()  # still holding the lock: a put or close now lands after the wait began
        return super().wait(timeout)


def watched(inbox: Inbox) -> threading.Event:
    """An event set once the inbox's taker waits (before any hold or close has been put in)."""
    inbox._ready = condition = _Watched()
    return condition.waiting


def test_a_group_is_every_hold_queued_when_no_more_are_expected() -> None:
    items = pending(3)
    inbox = filled(items)
    assert inbox.take(expected=1) == items
    inbox.put(items[0])
    assert inbox.take(expected=1) == [items[0]]


def test_fewer_than_expected_wait_at_most_the_linger(monkeypatch) -> None:
    monkeypatch.setattr(hold_inbox, "GROUP_LINGER_S", 0.2)
    items = pending(2)
    inbox = filled(items)
    started = time.perf_counter()
    assert inbox.take(expected=8) == items
    assert 0.15 < time.perf_counter() - started < 5


def test_the_wait_ends_as_soon_as_the_expected_holds_are_in(monkeypatch) -> None:
    monkeypatch.setattr(hold_inbox, "GROUP_LINGER_S", 30)
    inbox = Inbox()
    lingering, staged = watched(inbox), []
    items = pending(4)
    inbox.put(items[0])

    def late() -> None:
        staged.append(lingering.wait(timeout=10))  # the writer waits for the other three now
        for item in items[1:]:
            inbox.put(item)

    threading.Thread(target=late, daemon=True).start()
    started = time.perf_counter()
    assert inbox.take(expected=4) == items
    assert time.perf_counter() - started < 10  # far below the 30 s linger
    assert staged == [True], "the writer never waited for the holds still to come"


def test_a_group_holds_at_most_the_limit(monkeypatch) -> None:
    monkeypatch.setattr(hold_inbox, "MAX_GROUP_HOLDS", 3)
    items = pending(5)
    inbox = filled(items)
    assert inbox.take(expected=1) == items[:3]
    assert inbox.take(expected=1) == items[3:]


def test_a_closed_inbox_gives_what_was_queued_then_nothing() -> None:
    items = pending(2)
    inbox = filled(items)
    inbox.close()
    assert inbox.take(expected=8) == items  # no waiting for more once closed
    assert inbox.take(expected=1) is None


def test_closing_wakes_a_writer_waiting_for_holds() -> None:
    inbox = Inbox()
    waiting = watched(inbox)
    taken: list = []
    writer = threading.Thread(target=lambda: taken.append(inbox.take(expected=1)), daemon=True)
    writer.start()
    assert waiting.wait(timeout=10), "the writer never came to wait for holds"
    inbox.close()
    writer.join(timeout=10)
    assert not writer.is_alive() and taken == [None]
