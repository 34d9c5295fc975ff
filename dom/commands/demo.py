"""`dom demo`: the engine end to end on the embedded default (SQLite file + embedded Redis)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from dom import demo as tour
from dom.bootstrap import session


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        stores: Annotated[int, typer.Option(min=1, max=1_000)] = 100,
        skus: Annotated[int, typer.Option(min=1, max=100_000)] = 5_000,
        feed: Annotated[
            int, typer.Option(min=0, max=5_000_000, help="live feed events to stream")
        ] = 50_000,
        seed: Annotated[int, typer.Option(min=0)] = 7,
    ) -> None:
        """Seed a network, stream a stock feed, race for a hot SKU, print availability, rebuild."""
        with session() as engine:
            tour.run(engine, Console(), stores, skus, feed, seed)
