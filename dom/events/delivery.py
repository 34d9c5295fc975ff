"""One delivery round of one subscription: its next events, one POST each, oldest first.

A POST carries one event as JSON (`{"seq", "type", "subject", "payload", "created_at"}`, as
`GET /v1/events` shows it), signed as dom.events.signing describes. An answer in 2xx moves the
subscription's cursor past the event; anything else (a refused connection, no answer within the
timeout, any other status, a redirect included) ends the round, and the same event is tried
again after the backoff (dom.events.backoff). So a subscription receives its events in order,
each at least once: an event is sent again only when its delivery was not recorded as taken.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from dom.events import delivery_sql, feed, signing
from dom.events.backoff import retry_delay_s
from dom.events.outbox import Event
from dom.events.subscriptions import MAX_ERROR_CHARS, now_us

MAX_EVENTS_PER_ROUND = 100  # then the lease is given back, and the subscription is due again
USER_AGENT = "dom-engine-webhooks/1"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    """What every round of a process shares."""

    sql: Engine
    client: httpx.Client
    owner: str
    timeout_s: float
    lease_s: float
    rng: random.Random
    stopping: Callable[[], bool]


def deliver(round_: Round, webhook_id: str, leased_at_s: float) -> None:
    """Deliver what is pending, while this process holds the lease taken at `leased_at_s`
    (time.monotonic). A POST is only begun with time to finish it within the lease."""
    pending = delivery_sql.pending(round_.sql, webhook_id, round_.owner, MAX_EVENTS_PER_ROUND)
    if pending is None:
        return
    lease_ends_s = leased_at_s + round_.lease_s
    for event in pending.events:
        if round_.stopping() or time.monotonic() + 2 * round_.timeout_s > lease_ends_s:
            return
        error = post(round_.client, pending.url, pending.secret, event)
        at_us = now_us()
        if error is not None:
            if pending.failures == 0:  # the first of a run: later ones are in its state
                log.warning("webhook %s: event %d not delivered: %s", webhook_id, event.seq, error)
            wait_s = retry_delay_s(pending.failures + 1, round_.rng)
            retry_at_us = at_us + int(wait_s * 1_000_000)
            delivery_sql.failed(round_.sql, webhook_id, round_.owner, error, at_us, retry_at_us)
            return
        renewed_s = time.monotonic()
        until_us = at_us + int(round_.lease_s * 1_000_000)
        if not delivery_sql.delivered(
            round_.sql, webhook_id, round_.owner, event.seq, at_us, until_us
        ):
            return  # the lease lapsed, or the subscription was deleted
        lease_ends_s = renewed_s + round_.lease_s
    if pending.complete:
        delivery_sql.skipped(round_.sql, webhook_id, round_.owner, pending.scanned)


def post(client: httpx.Client, url: str, secret: str, event: Event) -> str | None:
    """POST one signed event; None when the receiver took it (2xx), else what went wrong. The
    answer's body is never read: a receiver cannot make the deliverer read much."""
    body = feed.body(event)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.headers(secret, str(event.seq), int(time.time()), body),
    }
    try:
        with client.stream("POST", url, content=body, headers=headers) as answer:
            if 200 <= answer.status_code < 300:
                return None
            return f"HTTP {answer.status_code} from the receiver"
    except Exception as error:  # any failure to deliver is the receiver's side: retried
        return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
