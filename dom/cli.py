"""The `dom` command line. Each command group lives in `dom.commands` and registers itself here."""

from __future__ import annotations

import typer

from dom.commands import allocate, demo, ledger, reservations, serve, simulate, worker

app = typer.Typer(
    name="dom",
    help="Distributed order management and stock-availability engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for module in (ledger, reservations, allocate, simulate, demo, serve, worker):
    module.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
