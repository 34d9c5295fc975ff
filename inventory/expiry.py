"""Expired holds go back to availability without anyone calling: a sweeper thread sees to it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class ExpirySweeper:
    """Expires due holds every `interval_s` in a background thread, so nobody has to call."""

    def __init__(self, expire: Callable[[], int], interval_s: float) -> None:
        self._expire = expire
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="expiry-sweeper", daemon=True)

    def start(self) -> ExpirySweeper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._expire()
            except Exception:  # a failed sweep changed nothing; the next tick tries again
                log.exception("expiring holds failed; retrying in %.1f s", self._interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
