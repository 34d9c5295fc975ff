"""Waking this process's deliverer as soon as it commits an event, rather than at its next poll.

outbox.record_many marks its connection; when the connection goes back to the pool (after its
transaction committed or rolled back) the mark is taken off and the deliverer is woken. A wake
after a rollback only costs a poll. Events another process commits are found by polling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

from dom.events.outbox import APPENDED


def listen(sql: Engine, wake: Callable[[], None]) -> Callable[[], None]:
    """Call `wake` after every connection that appended an event is checked in; returns the
    function that stops it."""

    def checked_in(dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(APPENDED, False):
            wake()

    event.listen(sql, "checkin", checked_in)
    return lambda: event.remove(sql, "checkin", checked_in)
