"""The hold writer's inbox: callers queue their holds and wait; the writer takes them in groups.

A group is every hold queued, and, while it is smaller than the writer expects, the ones that
arrive within GROUP_LINGER_S: callers just answered need a moment to send their next hold, and
without the wait they miss the group and the writer alternates between half groups, paying a
commit for each. The writer is woken once a group, not once a hold.
"""

from __future__ import annotations

import threading

from inventory.holds.outcome import HoldOutcome
from inventory.holds.request import HoldRequest

MAX_GROUP_HOLDS = 256  # holds decided in one transaction
GROUP_LINGER_S = 0.0005  # the longest a group waits for holds still to come


class Pending:
    """A caller waiting for its hold: the writer settles it once, the caller takes the answer."""

    __slots__ = ("_settled", "done", "error", "outcome", "request")

    def __init__(self, request: HoldRequest) -> None:
        self.request = request
        self.outcome: HoldOutcome | None = None
        self.error: BaseException | None = None
        self.done = False
        self._settled = threading.Lock()  # a bare lock wakes one waiter for less than a Future
        self._settled.acquire()

    def settle(self, outcome: HoldOutcome | None, error: BaseException | None = None) -> None:
        """The first answer stands (only the writer thread settles)."""
        if self.done:
            return
        self.done = True
        self.outcome, self.error = outcome, error
        self._settled.release()

    def answer(self) -> HoldOutcome:
        self._settled.acquire()
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


class Inbox:
    """One writer's queue of holds. The writer takes every hold queued at once; while there are
    fewer than it expects it waits, at most GROUP_LINGER_S, and is woken once when enough have
    come rather than by each of them."""

    def __init__(self) -> None:
        self._items: list[Pending] = []
        self._closed = False
        self._wanted = 1
        self._ready = threading.Condition(threading.Lock())

    def put(self, item: Pending) -> None:
        with self._ready:
            self._items.append(item)
            if len(self._items) >= self._wanted:
                self._ready.notify()

    def close(self) -> None:
        """The writer decides what is queued, then stops."""
        with self._ready:
            self._closed = True
            self._ready.notify()

    def take(self, expected: int) -> list[Pending] | None:
        """The next group: what is queued, and, while there are fewer than `expected` (the
        largest recent group: callers just answered are about to come back), what arrives within
        GROUP_LINGER_S. None once closed and empty."""
        with self._ready:
            self._ready.wait_for(lambda: self._items or self._closed)
            if not self._items:
                return None
            if len(self._items) < expected and not self._closed:
                self._wanted = expected
                self._ready.wait_for(
                    lambda: len(self._items) >= expected or self._closed, GROUP_LINGER_S
                )
                self._wanted = 1
            group, self._items = self._items[:MAX_GROUP_HOLDS], self._items[MAX_GROUP_HOLDS:]
            return group
