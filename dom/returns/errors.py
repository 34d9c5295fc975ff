"""What the return lifecycle refuses, each with a message that says why."""

from __future__ import annotations


class UnknownReturn(LookupError):
    """No return has this id."""


class InvalidReturn(ValueError):
    """A return that cannot be right: an unknown drop-off store or SKU, a store that takes no
    returns, a line that is not the named order's, a line nothing can take."""


class ReturnConflict(Exception):
    """The request contradicts what is recorded: the same return id with another body, more
    units returned than the order delivered, a receipt at another location than the line's."""
