"""`dom allocate`: route orders of an instance file to locations (see allocation/)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

EXIT_INVALID = 2


@contextmanager
def _solver_chatter_to_stderr():  # type: ignore[no-untyped-def]
    """Native solvers may write to file descriptor 1; the plan must own stdout alone."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class Mode(StrEnum):
    online = "online"
    batch = "batch"


def register(app: typer.Typer) -> None:
    @app.command("allocate")
    def allocate_command(
        instance: Annotated[
            Path,
            typer.Argument(
                help="Instance JSON: locations, stock, orders, rules (and optional returns)."
            ),
        ],
        mode: Annotated[Mode, typer.Option(help="online: order by order; batch: jointly.")] = (
            Mode.online
        ),
        time_limit: Annotated[
            float | None,
            typer.Option("--time-limit", min=0.1, help="Batch solver time limit in seconds."),
        ] = None,
    ) -> None:
        """Print the allocation plan of INSTANCE as JSON; refuse invalid instances (exit 2)."""
        from allocation import InvalidInstance, allocate

        try:
            data = orjson.loads(instance.read_bytes())
        except (OSError, orjson.JSONDecodeError) as error:
            typer.echo(f"dom allocate: cannot read {instance}: {error}", err=True)
            raise typer.Exit(EXIT_INVALID) from None
        try:
            with _solver_chatter_to_stderr():
                plan = allocate(data, mode=mode.value, time_limit_s=time_limit)
        except InvalidInstance as error:
            for problem in error.problems:
                typer.echo(f"dom allocate: invalid instance: {problem}", err=True)
            raise typer.Exit(EXIT_INVALID) from None
        sys.stdout.buffer.write(orjson.dumps(plan, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
