"""An engine never serves a projection it cannot vouch for (DESIGN.md, "The projection's
freshness"): at start, and at every heartbeat after, it checks the projection's stamp and the
writers' sign-in sheet, and rebuilds when either says the projection may be behind SQL.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from inventory.ledger import Ledger
from inventory.projection import writers
from inventory.projection.freshness import WriterMark, why_rebuild
from inventory.projection.rebuild import rebuild
from inventory.projection.stamp import read_stamp, server_run_id

log = logging.getLogger(__name__)
WRITER_BEAT_S = 10.0  # how often a running process says so, and checks the projection again


@dataclass(frozen=True, slots=True)
class Vouched:
    rebuilt_because: str | None  # None: the projection was served as it was
    writers_forgotten: int


def vouch(ledger: Ledger, besides: str | None = None) -> Vouched:
    """Rebuild the projection if it cannot be vouched for; then forget the writers that were
    gone (the rebuild read SQL after they died, so what they committed is in it)."""
    projection = ledger.projection
    gone = writers.gone(ledger.engine, besides)
    reason = why_rebuild(
        read_stamp(projection), server_run_id(projection), projection.generations().live, len(gone)
    )
    if reason is not None:
        log.warning("rebuilding the projection before serving: %s", reason)
        rebuild(ledger)
        writers.forget(ledger.engine, [mark.id for mark in gone])
    return Vouched(reason, len(gone) if reason else 0)


class Attendance:
    """This process on the writers' sheet: signed in and vouched for at start, heard of every
    `beat_s`, signed out at a clean close (only once all it committed is projected)."""

    def __init__(self, ledger: Ledger, beat_s: float = WRITER_BEAT_S) -> None:
        self.ledger = ledger
        self.beat_s = beat_s
        self.mark: WriterMark = writers.sign_in(ledger.engine)
        self.vouched = vouch(ledger, besides=self.mark.id)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attendance", daemon=True)
        self._thread.start()

    def close(self, clean: bool) -> None:
        """`clean`: everything this process committed reached the projection."""
        self._stop.set()
        self._thread.join(timeout=self.beat_s + 5)
        if clean:
            writers.sign_out(self.ledger.engine, self.mark)

    def _run(self) -> None:
        while not self._stop.wait(self.beat_s):
            try:
                writers.beat(self.ledger.engine, self.mark)
                vouch(self.ledger, besides=self.mark.id)
            except Exception:  # SQL or Redis away for a while: the next beat tries again
                log.exception("projection heartbeat failed")
