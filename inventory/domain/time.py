"""Time in the ledger: exact microseconds since the epoch, as SQL stores it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(dt: datetime) -> int:
    """Exact microseconds since the epoch; a naive time is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MICRO


def from_micros(us: int) -> datetime:
    return _EPOCH + us * _MICRO


def utcnow() -> datetime:
    return datetime.now(UTC)
