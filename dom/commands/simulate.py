"""`dom simulate`: an instance's orders replayed under other rule sets, side by side with its
own; the function simulations on RQ workers run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from dom.commands.allocate import EXIT_INVALID, Mode, _solver_chatter_to_stderr
from dom.rulesets import problems

out = Console(width=None if sys.stdout.isatty() else 160)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"dom simulate: {message}", err=True)
    return typer.Exit(EXIT_INVALID)


def _read(path: Path, what: str) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise _fail(f"cannot read {what} {path}: {error}") from None


def simulate(
    instance: Annotated[
        Path, typer.Argument(help="the `dom allocate` instance (its own rules: the baseline)")
    ],
    rules: Annotated[
        list[Path], typer.Option("--rules", help="a rules document to compare (repeat)")
    ],
    mode: Annotated[
        Mode, typer.Option(help="online: order by order; batch: jointly")
    ] = Mode.online,
    report: Annotated[
        Path | None, typer.Option(help="write the HTML report (plots inline) here")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Replay INSTANCE's orders on its stock under each --rules, beside its own rules: cost and
    its breakdown, splits, distances, where units come from, backorders, store capacity use,
    solve time, and what changed against the baseline."""
    from allocation import InvalidInstance
    from dom.simulation.compare import plan_all, summarise

    data = _read(instance, "instance")
    if not isinstance(data, dict):
        raise _fail(f"{instance}: an instance is a JSON object")
    compared = []
    for path in rules:
        document = _read(path, "rules")
        found = problems(document)
        if found:
            listed = "; ".join(f"{p.field or '(document)'}: {p.message}" for p in found)
            raise _fail(f"invalid rules {path}: {listed}")
        compared.append((str(path), document))
    baseline = data.get("rules", {})
    try:
        with _solver_chatter_to_stderr():
            named = plan_all(data, [("baseline", baseline), *compared], mode.value)
    except InvalidInstance as error:
        raise _fail("invalid instance: " + "; ".join(error.problems)) from None
    result = summarise(data, named, mode.value)
    if report is not None:
        from dom.simulation.report import page

        report.write_text(page(data, named, result), encoding="utf-8")
    if as_json:
        shown = {
            "mode": result["mode"],
            "baseline": _entry(result["baseline"]),
            "rule_sets": [_entry(entry) for entry in result["rule_sets"]],
        }
        sys.stdout.buffer.write(orjson.dumps(shown, option=orjson.OPT_INDENT_2) + b"\n")
        return
    _table(result)
    if report is not None:
        out.print(f"report: {report}")


def _entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {"rules": entry["version"], "total_cost": entry["total_cost"], "kpis": entry["kpis"],
            "difference": entry["difference"]}  # fmt: skip


def _table(result: dict[str, Any]) -> None:
    entries = [result["baseline"], *result["rule_sets"]]
    table = Table(title=f"simulation, {result['mode']} mode")
    table.add_column("")
    for entry in entries:
        table.add_column(entry["version"], justify="right")
    table.add_row("total cost", *(f"{e['total_cost']:,.2f}" for e in entries))
    table.add_row("vs baseline", *(f"{e['difference']['total_cost_pct']:+.2f} %" for e in entries))
    table.add_row(
        "orders routed otherwise", *(str(e["difference"]["orders_changed"]) for e in entries)
    )
    for key, value in entries[0]["kpis"].items():
        if isinstance(value, dict):
            for part in value:
                table.add_row(f"{key}: {part}", *(f"{e['kpis'][key][part]:.4g}" for e in entries))
        else:
            table.add_row(key, *(f"{e['kpis'][key]:.4g}" for e in entries))
    out.print(table)
