"""Reservation commands: settle a shipment, list the holds stock no longer backs."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from dom.bootstrap import session
from inventory import (
    InvalidShipment,
    ReservationConflict,
    ShortPosition,
    UnknownReservation,
    from_micros,
)

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("settle")(settle)
    app.command("short")(short)


def _time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--shipped-at: not an ISO 8601 time: {value!r}") from None


def settle(
    reservation: Annotated[str, typer.Argument(help="the consumed hold the shipment carries")],
    shipment: Annotated[str, typer.Argument(help="the shipment's id: names one settlement")],
    shipped_at: Annotated[
        str, typer.Option(help="when the parcel left, ISO 8601 with its zone", show_default=False)
    ],
) -> None:
    """A shipment left: its reservation's units leave on_hand and reserved, once (the same
    shipment again is a replay)."""
    at = _time(shipped_at)
    with session() as engine:
        try:
            done = engine.reservations.settle(reservation, shipment, at)
        except (InvalidShipment, ReservationConflict, UnknownReservation) as error:
            err.print(str(error))
            raise typer.Exit(1) from None
    for unit in done.units:
        out.print(
            f"{unit.location:12} {unit.sku:16} {unit.quantity:>6} shipped  on_hand: {unit.outcome.value}"
        )
    replay = " (a replay: settled before)" if done.replayed else ""
    out.print(
        f"reservation {done.reservation_id} settled by shipment {done.shipment_id}, shipped at "
        f"{from_micros(done.shipped_us).isoformat()}{replay}"
    )


def short() -> None:
    """List every position with less stock than is reserved there, and the holds it leaves short."""
    with session() as engine:
        positions = engine.reservations.short_positions()
    print_short(positions)
    if positions:
        raise typer.Exit(1)


def print_short(positions: list[ShortPosition]) -> None:
    for position in positions:
        out.print(f"{'short':10} {position.describe()}")
