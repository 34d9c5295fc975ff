"""Signing webhook deliveries the Standard Webhooks way (https://www.standardwebhooks.com), so a
receiver can check them with any of that standard's libraries, or with a few lines of its own.

Every delivery carries three headers:

    webhook-id: 1234                      the event's seq: the same on every retry of it
    webhook-timestamp: 1767225600         when this attempt was signed, in unix seconds
    webhook-signature: v1,<base64 signature>

The subscription's secret is `whsec_` followed by the base64 of 24 random bytes; the key is those
bytes. The signature is the base64 of HMAC-SHA256(key, f"{id}.{timestamp}.{body}"), the body being
the request's bytes exactly as received. A receiver:

1. computes the signature from the three headers and the raw body, and compares it with each
   `v1,` entry of `webhook-signature` (space separated) in constant time (`hmac.compare_digest`);
2. refuses a timestamp more than 5 minutes from its own clock (`TOLERANCE_S`): a captured
   delivery replayed later is stale, and the timestamp is signed, so it cannot be refreshed;
3. treats `webhook-id` as the idempotency key: delivery is at least once, so an event may come
   twice (the same seq), though never out of order within one subscription.

This module is pure: no I/O, so the engine and a receiver's tests share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
TOLERANCE_S = 5 * 60  # how far a timestamp may be from the receiver's clock, either way
VERSION = "v1"


class InvalidSignature(ValueError):
    """A delivery whose headers are missing, malformed, stale, or signed with another key."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def signature(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The `webhook-signature` header's value for one attempt."""
    signed = f"{msg_id}.{timestamp_s}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode()}"


def headers(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": signature(secret, msg_id, timestamp_s, body),
    }


def verify(
    secret: str,
    received: Mapping[str, str],
    body: bytes,
    now_s: float,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """What a receiver does with a delivery: raises InvalidSignature unless it is signed with
    `secret` and its timestamp is within `tolerance_s` of `now_s`."""
    found = {name.lower(): value for name, value in received.items()}
    msg_id, stamp = found.get("webhook-id"), found.get("webhook-timestamp", "")
    if (
        not msg_id
        or not (stamp.isascii() and stamp.isdigit())
        or not found.get("webhook-signature")
    ):
        raise InvalidSignature("the webhook-id, webhook-timestamp and webhook-signature headers")
    if abs(now_s - int(stamp)) > tolerance_s:
        raise InvalidSignature(f"the timestamp is more than {tolerance_s} s away: a replay?")
    expected = signature(secret, msg_id, int(stamp), body).encode()
    given = found["webhook-signature"].encode()
    if not any(hmac.compare_digest(expected, entry) for entry in given.split()):
        raise InvalidSignature("no signature matches the secret")
