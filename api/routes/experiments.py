"""Experiments: live orders split between the active rule set and another, compared, stopped."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import EngineDep, RulesReader, RulesWriter
from api.limits import LimitedRoute
from api.problems import responses
from api.routes.rulesets import who
from api.schemas.rulesets import ExperimentIn, ExperimentOut, StopIn
from dom.rulesets.service import MAX_LISTED

router = APIRouter(prefix="/v1/experiments", tags=["experiments"], route_class=LimitedRoute)
ExperimentPath = Annotated[str, Path(min_length=20, max_length=20, pattern=r"^exp_[0-9a-f]{16}$")]


@router.post(
    "", response_model=ExperimentOut, status_code=status.HTTP_201_CREATED,
    responses=responses(404, 409),
)  # fmt: skip
def start(body: ExperimentIn, engine: EngineDep, key: RulesWriter) -> ExperimentOut:
    """Route `share` of the orders (a stable split by order id) by the treatment version, the
    rest by the active one; one experiment runs at a time."""
    made = engine.experiments.start(body.name, body.treatment, body.share, who(key), body.reason)
    return ExperimentOut.model_validate(made)


@router.get("", response_model=list[ExperimentOut], responses=responses())
def experiments(
    engine: EngineDep,
    _: RulesReader,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED, description="entries at most")] = 100,
) -> list[ExperimentOut]:
    """Every experiment, newest first, with its arms' report."""
    return [ExperimentOut.model_validate(e) for e in engine.experiments.list(limit)]


@router.get("/{experiment_id}", response_model=ExperimentOut, responses=responses(404))
def read(experiment_id: ExperimentPath, engine: EngineDep, _: RulesReader) -> ExperimentOut:
    """The experiment and its arms' KPIs side by side, with confidence intervals."""
    return ExperimentOut.model_validate(engine.experiments.get(experiment_id))


@router.post("/{experiment_id}/stop", response_model=ExperimentOut, responses=responses(404, 409))
def stop(
    experiment_id: ExperimentPath, body: StopIn, engine: EngineDep, key: RulesWriter
) -> ExperimentOut:
    """End the split and keep one arm: the treatment is then activated, recorded as any
    activation; keeping the control changes nothing."""
    stopped = engine.experiments.stop(experiment_id, body.keep, who(key), body.reason)
    return ExperimentOut.model_validate(stopped)
