"""Ledger commands: seed, ingest, availability, rebuild, reconcile."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Ledger commands are added here."""
