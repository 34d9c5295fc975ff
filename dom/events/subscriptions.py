"""Webhook subscriptions: where events are delivered, which ones, and how far delivery has got.

A subscription names a URL (http or https, with a host), optionally the event types and the one
subject it wants, and starts from the outbox's current end (new events only) unless the client
names a cursor to start after. Its secret is made by the engine and shown once, at creation, as
API keys are; unlike a key's it is stored as is, since every delivery is signed with it.

The row also holds the delivery state (the cursor, the failures in a row, the last error, when
the next attempt is due) and the lease of the process delivering it: dom.events.delivery_sql.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
)

from dom.events import outbox, signing

MAX_URL_CHARS = 2048
MAX_SUBSCRIPTIONS = 1_000  # per engine: every one is polled by every API process
MAX_ERROR_CHARS = 512

metadata = MetaData()
WEBHOOK = Table(
    "webhook_subscription",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("url", String(MAX_URL_CHARS), nullable=False),
    Column("types", String(1024), nullable=False),  # space separated; empty: every type
    Column("subject", String(outbox.MAX_SUBJECT_CHARS), nullable=True),
    Column("secret", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    # Every event numbered up to the cursor was delivered, or is not for this subscription.
    Column("cursor_seq", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False, default=0),  # in a row, on the next event
    Column("last_attempt_us", BigInteger, nullable=True),
    Column("last_error", String(MAX_ERROR_CHARS), nullable=True),
    Column("next_attempt_us", BigInteger, nullable=False, default=0),  # 0: as soon as any
    Column("delivered_us", BigInteger, nullable=True),  # the last delivery a receiver took
    Column("lease_owner", String(32), nullable=True),
    Column("lease_until_us", BigInteger, nullable=False, default=0),
)


def now_us() -> int:
    """The wall clock in µs, as the delivery state and the leases count time (every process of
    an engine shares the database; on several hosts their clocks must agree to well within a
    lease)."""
    return time.time_ns() // 1_000


class InvalidWebhook(ValueError):
    """A subscription that cannot be made as asked: the message says why."""


class UnknownWebhook(LookupError):
    """No subscription has this id."""


class TooManyWebhooks(RuntimeError):
    """The engine holds MAX_SUBSCRIPTIONS already."""


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    url: str
    types: frozenset[str] | None  # None: every type, those added later too
    subject: str | None
    created_us: int
    cursor: int
    failures: int
    last_attempt_us: int | None
    last_error: str | None
    next_attempt_us: int | None  # None: nothing waits to be retried
    delivered_us: int | None


def check_url(url: str) -> str:
    if len(url) > MAX_URL_CHARS or not url.isascii() or not url.isprintable():
        raise InvalidWebhook(f"a webhook URL is at most {MAX_URL_CHARS} printable ASCII characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is no number)
    except ValueError as error:
        raise InvalidWebhook(f"the webhook URL cannot be read: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhook("a webhook URL is http:// or https:// with a host")
    return url


def check_types(types: Iterable[str] | None) -> frozenset[str] | None:
    if types is None:
        return None
    wanted = frozenset(types)
    unknown = sorted(wanted - set(outbox.EVENT_TYPES))
    if unknown or not wanted:
        raise InvalidWebhook(
            f"types names at least one of {', '.join(outbox.EVENT_TYPES)}; unknown: {unknown}"
        )
    return wanted


class Webhooks:
    """The `webhook_subscription` table, beside the outbox in the same database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def create(
        self,
        url: str,
        types: Iterable[str] | None = None,
        subject: str | None = None,
        after: int | None = None,
    ) -> tuple[Subscription, str]:
        """A new subscription and its secret: the only time the secret is seen."""
        row = {
            "id": "wh_" + secrets.token_hex(6), "url": check_url(url),
            "types": " ".join(sorted(check_types(types) or ())), "subject": _subject(subject),
            "secret": signing.new_secret(), "created_us": now_us(),
        }  # fmt: skip
        with self.engine.begin() as conn:
            if conn.scalar(select(func.count()).select_from(WEBHOOK)) >= MAX_SUBSCRIPTIONS:
                raise TooManyWebhooks(f"an engine holds at most {MAX_SUBSCRIPTIONS:,} webhooks")
            end = outbox.last_seq(conn)
            if after is not None and not 0 <= after <= end:
                raise InvalidWebhook(f"after is a cursor from 0 to the newest event's, {end}")
            conn.execute(WEBHOOK.insert(), {**row, "cursor_seq": end if after is None else after})
            created = conn.execute(select(WEBHOOK).where(WEBHOOK.c.id == row["id"])).one()
        return subscription(created), row["secret"]

    def list(self) -> list[Subscription]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(WEBHOOK).order_by(WEBHOOK.c.created_us, WEBHOOK.c.id))
            return [subscription(row) for row in rows]

    def get(self, webhook_id: str) -> Subscription:
        with self.engine.connect() as conn:
            row = conn.execute(select(WEBHOOK).where(WEBHOOK.c.id == webhook_id)).first()
        if row is None:
            raise UnknownWebhook(f"no webhook has the id {webhook_id!r}")
        return subscription(row)

    def delete(self, webhook_id: str) -> Subscription:
        """Deliveries stop: a round under way finishes the POST it is in, and sends no other."""
        with self.engine.begin() as conn:
            row = conn.execute(select(WEBHOOK).where(WEBHOOK.c.id == webhook_id)).first()
            if row is None:
                raise UnknownWebhook(f"no webhook has the id {webhook_id!r}")
            conn.execute(delete(WEBHOOK).where(WEBHOOK.c.id == webhook_id))
        return subscription(row)


def _subject(subject: str | None) -> str | None:
    if subject is not None and not 1 <= len(subject) <= outbox.MAX_SUBJECT_CHARS:
        raise InvalidWebhook(f"a subject is 1 to {outbox.MAX_SUBJECT_CHARS} characters")
    return subject


def subscription(row) -> Subscription:  # type: ignore[no-untyped-def]
    return Subscription(
        row.id, row.url, frozenset(row.types.split()) or None, row.subject, row.created_us,
        row.cursor_seq, row.failures, row.last_attempt_us, row.last_error,
        row.next_attempt_us or None, row.delivered_us,
    )  # fmt: skip
