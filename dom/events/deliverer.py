"""The webhook deliverer every long-running process runs: a thread that finds the subscriptions
with events to deliver, leases them (dom.events.delivery_sql, which says why in SQL) and hands
each to a small pool of delivery threads. Several processes share the work: a subscription is
delivered by one of them at a time, in order.

It wakes every poll interval, and at once when this process commits an event (wakeup). It stops
within a delivery's timeout: the rounds under way finish the POST they are in and send no other.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from dom.events import delivery_sql, wakeup
from dom.events.delivery import Round, deliver
from dom.events.subscriptions import now_us

DELIVERY_THREADS = 4  # subscriptions one process delivers at once
MIN_LEASE_S = 30.0  # a lease outlasts a POST's timeout several times over (see delivery)
MIN_POLL_GAP_S = 0.01  # between two looks at the subscriptions, however often woken
STOP_TIMEOUT_S = 10.0  # for the polling thread, whose look is one short query
log = logging.getLogger(__name__)


class Deliverer:
    def __init__(self, sql: Engine, poll_interval_s: float, timeout_s: float) -> None:
        self._sql = sql
        self._interval_s = poll_interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._round = Round(
            sql, self._client, f"{os.getpid()}-{secrets.token_hex(8)}", timeout_s,
            max(MIN_LEASE_S, 4 * timeout_s), random.Random(), self._stop.is_set,
        )  # fmt: skip
        self._pool = ThreadPoolExecutor(DELIVERY_THREADS, thread_name_prefix="webhook-delivery")
        self._thread = threading.Thread(target=self._run, name="webhook-deliverer", daemon=True)
        self._unlisten = wakeup.listen(sql, self.wake)

    def start(self) -> Deliverer:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """No new round starts; each round under way ends after the POST it is in."""
        self._unlisten()
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._start_rounds()
            except Exception:  # SQL away, say: nothing was leased; the next poll tries again
                log.exception("looking for webhooks to deliver failed")
            self._wake.wait(self._interval_s)
            self._stop.wait(MIN_POLL_GAP_S)

    def _start_rounds(self) -> None:
        with self._lock:
            free = DELIVERY_THREADS - len(self._running)
        if free <= 0:
            return
        now = now_us()
        for webhook_id in delivery_sql.due(self._sql, now, free):
            leased_at_s = time.monotonic()
            until_us = now + int(self._round.lease_s * 1_000_000)
            if self._stop.is_set() or not delivery_sql.lease(
                self._sql, webhook_id, self._round.owner, now, until_us
            ):
                continue
            with self._lock:
                self._running.add(webhook_id)
            self._pool.submit(self._deliver, webhook_id, leased_at_s)

    def _deliver(self, webhook_id: str, leased_at_s: float) -> None:
        try:
            deliver(self._round, webhook_id, leased_at_s)
        except Exception:  # SQL away mid-round: the lease lapses, the event is sent again
            log.exception("delivering webhook %s failed", webhook_id)
        finally:
            try:
                delivery_sql.release(self._sql, webhook_id, self._round.owner)
            except Exception:
                log.warning("could not give back the lease of webhook %s", webhook_id)
            with self._lock:
                self._running.discard(webhook_id)
            self._wake.set()  # a round cut at its size leaves the subscription due
