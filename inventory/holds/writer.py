"""The hold writer: one thread that takes every hold queued meanwhile (inventory.holds.inbox),
decides the group in one transaction on its own connection, projects it, then answers.

Throughput on a hot SKU comes from this group commit: callers answered after the commit (so an
answer is durable) and after the projection (so a caller reads its own hold).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

from inventory.holds.group import Changed, GroupDecider, WriterState
from inventory.holds.inbox import Inbox, Pending
from inventory.holds.outcome import HoldOutcome, ReservationConflict
from inventory.holds.recent_view import RecentView
from inventory.holds.request import HoldRequest
from inventory.sql.transaction import Connections

RECENT_GROUPS = 4  # a load that drops stops lingering after this many smaller groups
CLOSE_TIMEOUT_S = 5.0


class HoldWriter:
    def __init__(self, decider: GroupDecider, view_ttl_s: float) -> None:
        self.decider = decider
        self.view_ttl_s = view_ttl_s
        self._inbox = Inbox()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.on_group: Callable[[int], None] | None = None  # told each group's size (metrics)

    def submit(self, request: HoldRequest) -> HoldOutcome:
        """Queue the hold for the next group and wait for its answer."""
        pending = Pending(request)
        with self._lock:  # never into the queue of a writer that close() has told to stop
            self._ensure_writer()
            self._inbox.put(pending)
        return pending.answer()

    def _ensure_writer(self) -> None:
        """One writer thread, with its own queue, decides, commits and projects each group, then
        answers its callers (after the commit, so an answer is durable; after the projection, so
        a caller reads its own hold). Called under self._lock."""
        if self._thread is None or not self._thread.is_alive():
            self._inbox = Inbox()
            self._thread = threading.Thread(
                target=self._write_groups, args=(self._inbox,), name="hold-writer", daemon=True
            )
            self._thread.start()

    def _write_groups(self, inbox: Inbox) -> None:
        writer = WriterState(
            RecentView(self.view_ttl_s), Connections(self.decider.ledger.engine, keep=True)
        )
        sizes: collections.deque[int] = collections.deque([1], maxlen=RECENT_GROUPS)
        try:
            while (group := inbox.take(max(sizes))) is not None:
                sizes.append(len(group))
                if self.on_group is not None:
                    self.on_group(len(group))
                self._decide_group(group, writer)
        finally:
            writer.connections.close()

    def _decide_group(self, group: list[Pending], writer: WriterState) -> None:
        """Decide, project, answer. Whatever fails, what was committed is projected (so a retry,
        answered as a replay, reads what the first attempt held) and every caller hears."""
        committed: Changed = {}
        answers: list[tuple[Pending, HoldOutcome | None, BaseException | None]] = []
        try:
            try:
                outcomes = self.decider.decide([item.request for item in group], committed, writer)
                answers = [
                    (item, outcome, None) for item, outcome in zip(group, outcomes, strict=True)
                ]
            except ReservationConflict:  # one bad request: decide each alone, so only it fails
                for item in group:
                    try:
                        [alone] = self.decider.decide([item.request], committed, writer)
                    except Exception as error:
                        answers.append((item, None, error))
                    else:
                        answers.append((item, alone, None))
        except Exception as error:  # the whole group failed: every caller hears why
            answers = [(item, None, error) for item in group]
        try:
            self.decider.ledger.project(committed)
        except Exception as error:  # committed, but not yet readable: a retry replays
            answers = [(item, None, error) for item, _, _ in answers]
        for item, outcome, error in answers:
            item.settle(outcome, error)

    def close(self) -> None:
        """Stop the writer once it has decided every hold queued before; a later hold starts a
        new one."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._inbox.close()
        if thread is not None:
            thread.join(timeout=CLOSE_TIMEOUT_S)
