"""A subscription's delivery state in SQL, and the lease that lets one process deliver it.

Why a lease in SQL rather than in Redis: the cursor lives in the subscription's row, and so does
the lease. Moving the cursor is one conditional update that also checks the lease is still this
process's and has not lapsed, so a deliverer that lost its lease (a receiver that held it past
the lease, a paused process) can never move the cursor nor go on to the next event: at most it
repeats one event, which at-least-once allows. A Redis lease could not fence that SQL write, and
Redis may lose an acknowledged key on failover (DESIGN.md), which would let two processes deliver
one subscription at once and out of order. The lease costs a write when a round starts and when
it ends; the cursor needs the write for every event anyway.

Every statement here is short and none is held across a delivery: the POST happens between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select, update

from dom.events import outbox
from dom.events.outbox import OUTBOX, Event
from dom.events.subscriptions import MAX_ERROR_CHARS, WEBHOOK

_W = WEBHOOK.c


@dataclass(frozen=True, slots=True)
class Pending:
    """What one round of a subscription delivers: its next events, oldest first."""

    url: str
    secret: str
    failures: int  # in a row so far, on the first of `events`
    events: list[Event]
    # Every event up to `scanned` was read: those after the cursor that are not in `events` are
    # not for this subscription (its types or subject), when `events` is the whole of them.
    scanned: int
    complete: bool


def due(sql: Engine, now_us: int, limit: int) -> list[str]:
    """Subscriptions behind the outbox's newest event, not waiting to retry, not leased."""
    newest = select(func.max(OUTBOX.c.seq)).scalar_subquery()
    query = (
        select(_W.id)
        .where(_W.cursor_seq < newest, _W.next_attempt_us <= now_us, _W.lease_until_us < now_us)
        .order_by(_W.next_attempt_us, _W.id)
        .limit(limit)
    )
    with sql.connect() as conn:
        return list(conn.scalars(query))


def lease(sql: Engine, webhook_id: str, owner: str, now_us: int, until_us: int) -> bool:
    """Take the subscription until `until_us`, unless another process holds it."""
    with sql.begin() as conn:
        taken = conn.execute(
            update(WEBHOOK)
            .where(_W.id == webhook_id, _W.lease_until_us < now_us)
            .values(lease_owner=owner, lease_until_us=until_us)
        )
    return taken.rowcount == 1


def release(sql: Engine, webhook_id: str, owner: str) -> None:
    with sql.begin() as conn:
        conn.execute(
            update(WEBHOOK)
            .where(_W.id == webhook_id, _W.lease_owner == owner)
            .values(lease_owner=None, lease_until_us=0)
        )


def pending(sql: Engine, webhook_id: str, owner: str, limit: int) -> Pending | None:
    """The next events of a subscription this process holds; None once it is gone or taken.

    The newest seq is read before the events: the outbox commits in the order of its numbers,
    so every event up to it is visible to the read that follows."""
    with sql.connect() as conn:
        row = conn.execute(
            select(_W.url, _W.secret, _W.types, _W.subject, _W.cursor_seq, _W.failures).where(
                _W.id == webhook_id, _W.lease_owner == owner
            )
        ).first()
        if row is None:
            return None
        scanned = outbox.last_seq(conn)
        types = frozenset(row.types.split()) or None
        events = outbox.read_after(conn, row.cursor_seq, limit, types, row.subject)
    return Pending(row.url, row.secret, row.failures, events, scanned, len(events) < limit)


def delivered(
    sql: Engine, webhook_id: str, owner: str, seq: int, now_us: int, lease_until_us: int
) -> bool:
    """A receiver took event `seq`: the cursor moves to it and the lease is extended, if the
    lease is still this process's. False: it is not (or the subscription is gone); stop."""
    with sql.begin() as conn:
        moved = conn.execute(
            update(WEBHOOK)
            .where(_W.id == webhook_id, _W.lease_owner == owner)
            .where(_W.lease_until_us >= now_us, _W.cursor_seq < seq)
            .values(
                cursor_seq=seq,
                failures=0,
                last_error=None,
                next_attempt_us=0,
                last_attempt_us=now_us,
                delivered_us=now_us,
                lease_until_us=lease_until_us,
            )
        )
    return moved.rowcount == 1


def failed(
    sql: Engine, webhook_id: str, owner: str, error: str, now_us: int, retry_at_us: int
) -> None:
    """The event was refused or not answered: it is tried again at `retry_at_us`."""
    with sql.begin() as conn:
        conn.execute(
            update(WEBHOOK)
            .where(_W.id == webhook_id, _W.lease_owner == owner, _W.lease_until_us >= now_us)
            .values(
                failures=_W.failures + 1,
                last_error=error[:MAX_ERROR_CHARS],
                last_attempt_us=now_us,
                next_attempt_us=retry_at_us,
            )
        )


def skipped(sql: Engine, webhook_id: str, owner: str, seq: int) -> None:
    """Every event up to `seq` is delivered or not for this subscription: the cursor moves on,
    so that it is not due again until a newer event is appended."""
    with sql.begin() as conn:
        conn.execute(
            update(WEBHOOK)
            .where(_W.id == webhook_id, _W.lease_owner == owner, _W.cursor_seq < seq)
            .values(cursor_seq=seq)
        )
