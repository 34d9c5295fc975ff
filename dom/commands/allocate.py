"""`dom allocate`: route orders of an instance file to locations (see allocation/)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Placeholder until the allocation core lands: the command is added here."""
