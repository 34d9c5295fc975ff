"""`dom serve` runs the HTTP API; `dom keys` makes, lists and revokes its API keys."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dom import server
from dom.bootstrap import session
from dom.keys import SCOPES, InvalidKey, UnknownKey, generation_key
from dom.settings import get_settings
from inventory import from_micros

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
MAX_WORKERS = 64


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def serve(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65_535, help="the TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=MAX_WORKERS, help="server processes")] = 1,
) -> None:
    """Serve the HTTP API (docs at /docs) on the embedded default, unless DOM_DATABASE_URL and
    DOM_REDIS_URL name servers. Stops cleanly on Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    server.serve(get_settings(), host, port, workers)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who or what the key is for")],
    scopes: Annotated[str, typer.Option(help=f"comma separated, of: {', '.join(SCOPES)}")],
    rate_per_s: Annotated[
        int | None,
        typer.Option(min=1, help="requests a second (default: DOM_API_RATE_LIMIT_PER_S)"),
    ] = None,
) -> None:
    """Make a key; its secret is printed as the last line, once, and stored only hashed."""
    wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
    with session() as engine:
        try:
            key, secret = engine.keys.create(name, wanted, rate_per_s)
        except InvalidKey as error:
            raise typer.BadParameter(str(error)) from None
    err.print(f"key {key.id} ({key.name}) with scopes {', '.join(sorted(key.scopes))}:")
    print(secret)


@keys_app.command("list")
def list_keys() -> None:
    """Every key, revoked ones too (never a secret)."""
    with session() as engine:
        keys = engine.keys.list()
    table = Table("id", "name", "scopes", "rate/s", "created", "revoked")
    for key in keys:
        revoked = (
            from_micros(key.revoked_us).isoformat(timespec="seconds") if key.revoked_us else ""
        )
        table.add_row(
            key.id, key.name, " ".join(sorted(key.scopes)), str(key.rate_per_s or "default"),
            from_micros(key.created_us).isoformat(timespec="seconds"), revoked,
        )  # fmt: skip
    out.print(table)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (k_...), as `dom keys list` shows")],
) -> None:
    """Revoke a key for good; running API processes refuse it from their next request."""
    with session() as engine:
        try:
            key = engine.keys.revoke(key_id)
        except UnknownKey as error:
            err.print(str(error))
            raise typer.Exit(1) from None
        engine.redis.incr(generation_key(engine.settings.redis_prefix))
    out.print(f"revoked {key.id} ({key.name})")
