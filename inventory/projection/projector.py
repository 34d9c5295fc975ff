"""Applies committed changes to the projection off the writer's path.

A writer commits in SQL, hands the changed positions here and goes on with its next batch; one
thread writes them to Redis, merging what queued up meanwhile (the newest version of a position
wins, and the Redis script refuses older versions anyway). If the process dies in between, the
ledger still has everything: `dom rebuild` or `dom reconcile --repair` re-derives the projection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Mapping

from inventory.domain.projected import Projected, newest
from inventory.projection.store import Projection

log = logging.getLogger(__name__)
LAG_SAMPLES = 100_000  # commit-to-visible latencies kept for reporting
MAX_PENDING_POSITIONS = 500_000  # a writer waits beyond this, so memory stays bounded


class Projector:
    def __init__(self, projection: Projection) -> None:
        self.projection = projection
        self.lags_s: deque[float] = deque(maxlen=LAG_SAMPLES)
        self._pending: dict[tuple[str, str], Projected] = {}
        self._oldest_commit_s: list[float] = []
        self._cond = threading.Condition()
        self._busy = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="projector", daemon=True)
        self._thread.start()

    def submit(self, changed: Mapping[tuple[str, str], Projected], committed_s: float) -> None:
        with self._cond:
            while len(self._pending) > MAX_PENDING_POSITIONS and not self._stopped:
                self._cond.wait(0.05)
            for key, value in changed.items():
                self._pending[key] = newest(self._pending.get(key), value)
            self._oldest_commit_s.append(committed_s)
            self._cond.notify_all()

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything submitted so far is in Redis."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop once everything submitted is in Redis, or after `timeout_s`: what Redis still
        refuses then is in SQL only, and the next start rebuilds (see Ledger.caught_up)."""
        self.flush(timeout_s)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if self._stopped and not self._pending:
                    return
                batch, self._pending = self._pending, {}
                commits, self._oldest_commit_s = self._oldest_commit_s, []
                self._busy = True
            try:
                self.projection.put(batch)
                done = time.perf_counter()
                self.lags_s.extend(done - c for c in commits)
            except Exception:  # Redis unreachable: keep the changes and try again shortly
                log.exception("projection write failed; retrying")
                with self._cond:
                    for key, value in batch.items():
                        self._pending[key] = newest(self._pending.get(key), value)
                    self._oldest_commit_s.extend(commits)
                    if self._stopped:  # closed while Redis refuses: given up, see close()
                        return
                time.sleep(0.5)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
