"""When a projection cannot be vouched for, and must be rebuilt before it is served. Pure.

The projection's stamp says which server run (Redis INFO run_id) holds the generation it names:
a server that restarted may have come back from an old snapshot, or empty. Writers sign in to SQL
at start and out at a clean close; one whose process is gone without signing out may have
committed in SQL and died before its projection write. Neither costs the write path anything.
"""

from __future__ import annotations

from dataclasses import dataclass

WRITER_SILENT_S = 60.0  # a writer on another host not heard of for this long is taken as gone


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the live projection reflects: the generation a rebuild loaded, on which server run."""

    run_id: str
    generation: int


@dataclass(frozen=True, slots=True)
class WriterMark:
    id: str
    host: str
    pid: int
    process_start: str
    seen_us: int


def is_gone(mark: WriterMark, host: str, running: bool, now_us: int) -> bool:
    """On this host a writer is gone when its process is (`running`: that pid runs, started when
    the mark says); elsewhere, when its heartbeat fell silent."""
    if mark.host == host:
        return not running
    return now_us - mark.seen_us > WRITER_SILENT_S * 1_000_000


def why_rebuild(
    stamp: Stamp | None, run_id: str, live_generation: int, writers_gone: int
) -> str | None:
    """The reason the projection cannot be served as it is, or None when it can."""
    if stamp is None:
        return "the projection has no stamp: never built, or lost with its server"
    if stamp.run_id != run_id:
        return "the Redis server restarted since the projection was built"
    if stamp.generation != live_generation:
        return "the live generation is not the one the stamp vouches for"
    if writers_gone:
        return f"{writers_gone} writer(s) stopped without a clean close"
    return None
