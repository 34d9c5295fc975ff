"""`dom worker`: an RQ worker for the engine's heavy jobs (simulations)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from dom import jobs
from dom.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    burst: Annotated[
        bool, typer.Option(help="stop once the queue is empty, instead of waiting for more")
    ] = False,
) -> None:
    """Run jobs from the queue on the configured Redis (on the embedded default, the embedded
    Redis of the same data folder), any number of workers on any number of machines. Ctrl-C or
    SIGTERM lets the job in hand finish first; a second Ctrl-C stops at once."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    jobs.work(get_settings(), burst=burst)
