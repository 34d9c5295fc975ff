"""What free text from a client may hold: any printable text, never a control character (PostgreSQL
refuses NUL in text, and one such value must fail alone, on both backends alike), nor only blanks."""

from __future__ import annotations

CLIENT_TEXT = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
PRINTABLE_OR_EMPTY = r"^[^\x00-\x1f\x7f]*$"
