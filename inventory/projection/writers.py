"""Writers' sign-in sheet in SQL: a process signs in at start, beats while it runs, and signs out
at a clean close. One write per process per beat, never one per stock write.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable

from sqlalchemy import Engine, delete, select, update

from inventory.projection.freshness import WriterMark, is_gone
from inventory.sql.schema import ProjectionWriterRow

WRITER = ProjectionWriterRow.__table__


def sign_in(engine: Engine) -> WriterMark:
    pid = os.getpid()
    mark = WriterMark(uuid.uuid4().hex, socket.gethostname(), pid, process_start(pid), _now_us())
    with engine.begin() as conn:
        conn.execute(WRITER.insert(), [_row(mark)])
    return mark


def beat(engine: Engine, mark: WriterMark) -> None:
    """Say this process still runs; sign in again if another process took it for gone."""
    with engine.begin() as conn:
        moved = conn.execute(
            update(WRITER).where(WRITER.c.id == mark.id).values(seen_us=_now_us())
        ).rowcount
        if not moved:
            conn.execute(WRITER.insert(), [{**_row(mark), "seen_us": _now_us()}])


def sign_out(engine: Engine, mark: WriterMark) -> None:
    """Only after everything this process committed is in the projection."""
    forget(engine, [mark.id])


def forget(engine: Engine, ids: Iterable[str]) -> None:
    ids = list(ids)
    if ids:
        with engine.begin() as conn:
            conn.execute(delete(WRITER).where(WRITER.c.id.in_(ids)))


def gone(engine: Engine, besides: str | None = None) -> list[WriterMark]:
    """The writers whose process is gone without signing out (`besides`: this process's own)."""
    with engine.connect() as conn:
        rows = conn.execute(select(WRITER)).all()
    host, now_us = socket.gethostname(), _now_us()
    marks = [WriterMark(r.id, r.host, r.pid, r.process_start, r.seen_us) for r in rows]
    return [
        mark
        for mark in marks
        if mark.id != besides and is_gone(mark, host, mark.host == host and _running(mark), now_us)
    ]


def process_start(pid: int) -> str:
    """When the process started, in clock ticks since boot ("" where /proc does not say)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    return "" if fields[0] == "Z" else fields[19]  # a zombie has ended: its start no longer counts


def _running(mark: WriterMark) -> bool:
    try:
        os.kill(mark.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it runs
    started = process_start(mark.pid)
    return not mark.process_start or started == mark.process_start


def _row(mark: WriterMark) -> dict:
    return {
        "id": mark.id,
        "host": mark.host,
        "pid": mark.pid,
        "process_start": mark.process_start,
        "seen_us": mark.seen_us,
    }


def _now_us() -> int:
    return time.time_ns() // 1000
