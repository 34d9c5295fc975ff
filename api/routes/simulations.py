"""Simulations: replay orders under rule sets on an RQ worker, follow them, read the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import HTMLResponse

from api.deps import EngineDep, RulesReader, RulesWriter
from api.limits import LimitedRoute
from api.problems import responses
from api.routes.rulesets import who
from api.schemas.simulations import InstanceOut, SimulationId, SimulationIn, SimulationOut

router = APIRouter(prefix="/v1/simulations", tags=["simulations"], route_class=LimitedRoute)
SimulationPath = Annotated[SimulationId, Path(description="as the start answered it")]


@router.post(
    "", response_model=SimulationOut, status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 413),
)  # fmt: skip
def start(body: SimulationIn, engine: EngineDep, key: RulesWriter) -> SimulationOut:
    """Queue the replay of the orders under each rule set and the active one, on today's
    network and sellable stock; answers at once with the simulation's id."""
    started = engine.simulations.start(
        [order.model_dump(mode="json") for order in body.orders], body.rule_sets, body.mode,
        who(key),
    )  # fmt: skip
    return SimulationOut.model_validate(started)


@router.get("/{simulation_id}", response_model=SimulationOut, responses=responses(404))
def read(simulation_id: SimulationPath, engine: EngineDep, _: RulesReader) -> SimulationOut:
    """Where it stands, its progress while it runs, and its KPIs when it is done."""
    return SimulationOut.model_validate(engine.simulations.get(simulation_id))


@router.get("/{simulation_id}/instance", response_model=InstanceOut, responses=responses(404))
def instance(simulation_id: SimulationPath, engine: EngineDep, _: RulesReader) -> InstanceOut:
    """The `dom allocate` instance it replays (the active version's rules in it), to run
    `dom allocate` or `dom simulate` on the same orders and stock."""
    return InstanceOut.model_validate(engine.simulations.instance(simulation_id))


@router.get(
    "/{simulation_id}/report", response_class=HTMLResponse, responses=responses(404, 409),
)  # fmt: skip
def report(simulation_id: SimulationPath, engine: EngineDep, _: RulesReader) -> HTMLResponse:
    """The finished simulation's report: one self-contained HTML page, plots included."""
    return HTMLResponse(engine.simulations.report(simulation_id))


@router.post("/{simulation_id}/cancel", response_model=SimulationOut, responses=responses(404, 409))
def cancel(simulation_id: SimulationPath, engine: EngineDep, _: RulesWriter) -> SimulationOut:
    """Stop it: taken off the queue, or stopped on its worker."""
    return SimulationOut.model_validate(engine.simulations.cancel(simulation_id))
