"""Ledger commands: seed, ingest, availability, explain, rebuild, reconcile, locations."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from dom.bootstrap import session
from dom.commands.reservations import print_short
from dom.synthetic import generate_network, stock_events
from dom.views import explanation_table
from inventory import (
    MAX_BATCH_EVENTS,
    BatchTooLarge,
    CartTooLarge,
    InvalidQuery,
    LocationIn,
    Query,
    SkuAvailability,
    rebuild,
    reconcile,
)

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("seed")(seed)
    app.command("ingest")(ingest)
    app.command("availability")(availability)
    app.command("explain")(explain)
    app.command("rebuild")(rebuild_projection)
    app.command("reconcile")(reconcile_ledger)
    app.command("locations")(locations)
    app.command("upsert-locations")(upsert_locations)
    app.command("expire")(expire_holds)


def seed(
    stores: Annotated[int, typer.Option(min=1, max=5_000, help="stores in the network")] = 50,
    skus: Annotated[int, typer.Option(min=1, max=200_000, help="SKUs in the catalogue")] = 2_000,
    seed: Annotated[int, typer.Option(min=0, help="generator seed: same seed, same network")] = 1,
) -> None:
    """Build a realistic network (warehouses, stores, vendors) and load its stock as counts."""
    network = generate_network(stores, skus, seed)
    with session() as engine:
        engine.ledger.upsert_locations(network.locations)
        totals: Counter[str] = Counter()
        as_of = engine.ledger.clock() - timedelta(hours=1)
        for batch in stock_events(network, as_of=as_of, batch_size=MAX_BATCH_EVENTS):
            totals.update(engine.ledger.ingest(batch).summary())
    out.print(
        f"seeded {len(network.locations)} locations, {len(network.stock)} positions: {dict(totals)}"
    )


def _batches(path: str, size: int) -> Iterator[list]:
    """The file's events in batches, once every line has been read as JSON: a file with a line
    that is not JSON is refused whole, before anything is sent. Standard input is read into
    memory first, to be read twice."""
    if path == "-":
        lines = sys.stdin.buffer.read().splitlines()
        _check_lines(lines)
        yield from _parse_lines(lines, size)
        return
    if not Path(path).is_file():
        raise typer.BadParameter(f"no such file: {path}")
    with Path(path).open("rb") as stream:
        _check_lines(stream)
    with Path(path).open("rb") as stream:
        yield from _parse_lines(stream, size)


def _check_lines(lines: Iterable[bytes]) -> None:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise typer.BadParameter(
                f"line {number}: not JSON ({error}); nothing was ingested"
            ) from None


def _parse_lines(lines: Iterable[bytes], size: int) -> Iterator[list]:
    batch: list = []
    for line in lines:
        if not line.strip():
            continue
        batch.append(orjson.loads(line))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest(
    path: Annotated[
        str, typer.Argument(help="JSON lines of stock events, or - for standard input")
    ],
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH_EVENTS)] = 1000,
) -> None:
    """Ingest stock events; print what became of them and why each refused one was refused."""
    totals: Counter[str] = Counter()
    with session() as engine:
        for offset, batch in enumerate(_batches(path, batch_size)):
            try:
                result = engine.ledger.ingest(batch)
            except BatchTooLarge as error:
                raise typer.BadParameter(str(error)) from None
            totals.update(result.summary())
            for index, verdict in result.verdicts:
                if verdict.outcome.value == "rejected":
                    err.print(
                        f"event {offset * batch_size + index + 1} ({verdict.event_id or '?'}): {verdict.reason}"
                    )
    out.print(dict(totals))
    if totals["rejected"]:
        raise typer.Exit(1)


def _query(method: str, store: str | None, quantity: int, channel: str) -> Query:
    try:
        return Query(method=method, store=store, quantity=quantity, channel=channel)
    except InvalidQuery as error:
        raise typer.BadParameter(str(error)) from None


def _as_dict(answer: SkuAvailability) -> dict:
    promise = answer.promise
    return {
        "sku": answer.sku, "method": answer.method, "available": answer.available, "shelf": answer.shelf,
        "transferable": answer.transferable, "held_back": answer.held_back,
        "promise": promise.at.isoformat() if promise and promise.at else None,
    }  # fmt: skip


def availability(
    skus: Annotated[list[str], typer.Argument(help="one SKU or a cart of SKUs")],
    method: Annotated[str, typer.Option(help="ship or pickup")] = "ship",
    store: Annotated[str | None, typer.Option(help="pickup store")] = None,
    quantity: Annotated[int, typer.Option(min=1, max=10_000, help="units to promise")] = 1,
    channel: str = "web",
    json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Available-to-sell now, by fulfilment method, with the promised date (projection only)."""
    with session() as engine:
        try:
            answers = engine.reader.check(skus, _query(method, store, quantity, channel))
        except (CartTooLarge, InvalidQuery) as error:
            raise typer.BadParameter(str(error)) from None
    if json:
        sys.stdout.write(orjson.dumps([_as_dict(a) for a in answers]).decode() + "\n")
        return
    table = Table("sku", "available", "shelf", "transferable", "held back", "promise")
    for a in answers:
        row = _as_dict(a)
        table.add_row(
            a.sku,
            str(a.available),
            str(a.shelf),
            str(a.transferable),
            str(a.held_back),
            row["promise"] or "-",
        )
    out.print(table)


def explain(
    sku: str,
    method: Annotated[str, typer.Option(help="ship or pickup")] = "ship",
    store: Annotated[str | None, typer.Option(help="pickup store")] = None,
    channel: str = "web",
) -> None:
    """How a SKU's availability is computed: each location's part, buffers, exclusions, freshness."""
    with session() as engine:
        try:
            answer = engine.reader.explain(sku, _query(method, store, 1, channel))
        except InvalidQuery as error:
            raise typer.BadParameter(str(error)) from None
        short = [(c.location, sku) for c in answer.contributions if c.short]
        positions = engine.reservations.short_positions(short) if short else []
    out.print(explanation_table(answer))
    out.print(
        f"{answer.method} available for {sku}: {answer.available} (held back by threshold: {answer.held_back})"
    )
    print_short(positions)


def rebuild_projection() -> None:
    """Rebuild the Redis projection from the SQL ledger beside the live one, then switch to it."""
    with session() as engine:
        report = rebuild(engine.ledger)
    out.print(
        f"generation {report.generation}: wrote {report.positions} positions, inbound for {report.inbound_skus} SKUs; network {report.network_version}; {report.removed_keys} keys of the old one expire"
    )


def reconcile_ledger(
    repair: Annotated[
        bool, typer.Option("--repair", help="fix what is found, with correction entries")
    ] = False,
    limit: Annotated[int, typer.Option(min=0, help="drifts to list")] = 50,
) -> None:
    """Compare the projection with the ledger and positions with their history; list every drift
    and every short position (fails if any is left)."""
    with session() as engine:
        report = reconcile(engine.ledger, repair=repair)
    for d in report.drifts[:limit]:
        out.print(
            f"{d.kind:10} {d.location:12} {d.sku:16} ledger={d.ledger} found={d.found}  {d.detail}"
        )
    print_short(report.short[:limit])
    out.print(
        f"checked {report.checked} positions: {len(report.drifts)} drifts, {report.repaired} repaired, "
        f"{len(report.short)} short (their holds are for the order lifecycle to re-route)"
    )
    if (report.drifts and not repair) or report.short:
        raise typer.Exit(1)


def locations() -> None:
    """List the network's locations."""
    with session() as engine:
        rows = engine.ledger.locations()
    table = Table("id", "type", "lat", "lon", "capabilities", "capacity/day", "active")
    for loc in rows:
        table.add_row(
            loc.id,
            loc.type.value,
            f"{loc.lat:.3f}",
            f"{loc.lon:.3f}",
            ",".join(sorted(loc.capabilities)),
            str(loc.capacity_per_day),
            str(loc.active),
        )
    out.print(table)


def upsert_locations(
    path: Annotated[
        Path,
        typer.Argument(help="a JSON list of locations (id, type, lat, lon, capabilities, ...)"),
    ],
) -> None:
    """Create or update locations; the whole file is refused if any location is invalid."""
    try:
        raw = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise typer.BadParameter(f"{path}: {error}") from None
    if not isinstance(raw, list):
        raise typer.BadParameter(f"{path}: expected a JSON list of locations")
    parsed = []
    for number, item in enumerate(raw, 1):
        try:
            parsed.append(LocationIn.model_validate(item).to_location())
        except ValidationError as error:
            first = error.errors()[0]
            name = item.get("id", "?") if isinstance(item, dict) else "?"
            where = ".".join(map(str, first["loc"])) or "location"
            raise typer.BadParameter(
                f"location {number} ({name}): {where}: {first['msg']}"
            ) from None
    with session() as engine:
        written = engine.ledger.upsert_locations(parsed)
    out.print(f"{written} locations written")


def expire_holds() -> None:
    """Release every hold past its expiry (long-running processes also do this by themselves)."""
    with session() as engine:
        expired = engine.reservations.expire_due()
    out.print(f"{expired} holds expired")
