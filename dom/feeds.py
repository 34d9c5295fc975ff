"""What stock feeds ask of the engine beyond single events: a location's full count, sent as
JSON lines or as the CSV file vendors and ERPs export, and inbound supply."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from inventory import (
    MAX_COUNT_LINES,
    CountLine,
    FullCount,
    InboundIn,
    InvalidCount,
    Ledger,
    record_inbound,
    take_full_count,
)

CSV_COLUMNS = ("sku", "quantity")
MAX_CSV_QUANTITY = 1_000_000


def full_count(
    ledger: Ledger, location: str, count_id: str, counted_at: datetime, lines: Sequence[CountLine]
) -> FullCount:
    return take_full_count(ledger, location, count_id, counted_at, lines)


def full_count_from_csv(
    ledger: Ledger, location: str, count_id: str, counted_at: datetime, body: bytes
) -> FullCount:
    """A count file: a header naming `sku` and `quantity` (other columns are ignored), then one
    SKU a row. Any row that cannot be read refuses the whole file, naming its line."""
    return take_full_count(ledger, location, count_id, counted_at, read_csv(body))


def read_csv(body: bytes) -> list[CountLine]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidCount(
            f"a count file is UTF-8 text: {error.reason} at byte {error.start}"
        ) from None
    rows = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in CSV_COLUMNS if c not in (rows.fieldnames or ())]
    if missing:
        raise InvalidCount(f"the count file's header names no {' or '.join(missing)} column")
    lines: list[CountLine] = []
    try:
        for row in rows:
            if len(lines) >= MAX_COUNT_LINES:
                raise InvalidCount(f"a count lists at most {MAX_COUNT_LINES:,} SKUs")
            lines.append(_line(row, rows.line_num))
    except csv.Error as error:
        raise InvalidCount(f"line {rows.line_num}: {error}") from None
    return lines


def _line(row: dict, number: int) -> CountLine:
    sku = (row.get("sku") or "").strip()
    raw = (row.get("quantity") or "").strip()
    if (
        not sku
        or len(sku) > 64
        or not all(c.isalnum() or c in "._:/-" for c in sku)
        or not sku.isascii()
    ):
        raise InvalidCount(
            f"line {number}: sku is 1 to 64 of A-Z a-z 0-9 . _ : / -, not {sku[:80]!r}"
        )
    if not raw.isdigit() or int(raw) > MAX_CSV_QUANTITY:
        raise InvalidCount(
            f"line {number}: quantity is a whole number 0 to {MAX_CSV_QUANTITY:,}, not {raw[:40]!r}"
        )
    return CountLine(sku, int(raw))


class InvalidInbound(ValueError):
    """Inbound supply that names what the network does not have; nothing was recorded."""


def inbound(ledger: Ledger, items: Iterable[InboundIn]) -> int:
    try:
        return record_inbound(ledger, items)
    except ValueError as error:  # unknown locations, refused before anything changed
        raise InvalidInbound(str(error)) from None
