"""Rule sets: planners draft versions, validate them, activate one and roll back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import EngineDep, RulesReader, RulesWriter
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.rulesets import (
    ActivationIn,
    ActivationOut,
    CheckIn,
    CheckOut,
    DraftChangeIn,
    DraftIn,
    RuleSetOut,
    Version,
)
from dom.keys import ApiKey
from dom.rulesets.service import MAX_LISTED

router = APIRouter(prefix="/v1/rule-sets", tags=["rule sets"], route_class=LimitedRoute)
VersionPath = Annotated[Version, Path(description="v<n>, or default (the built-in cost model)")]
Limit = Annotated[int, Query(ge=1, le=MAX_LISTED, description="entries at most")]


def who(key: ApiKey) -> str:
    return f"{key.name} ({key.id})"


@router.get("", response_model=list[RuleSetOut], responses=responses())
def versions(engine: EngineDep, _: RulesReader, limit: Limit = 100) -> list[RuleSetOut]:
    """Every version, newest first (the built-in default last), with its status."""
    return [RuleSetOut.model_validate(v) for v in engine.rule_sets.list(limit)]


@router.post(
    "", response_model=RuleSetOut, status_code=status.HTTP_201_CREATED,
    responses=responses(404, 413),
)  # fmt: skip
def draft(body: DraftIn, engine: EngineDep, key: RulesWriter) -> RuleSetOut:
    """A new draft: the rules given, or a copy of `based_on`'s. It may not validate yet."""
    made = engine.rule_sets.create(
        body.rules, name=body.name, note=body.note, based_on=body.based_on, by=who(key)
    )
    return RuleSetOut.model_validate(made)


@router.post("/check", response_model=CheckOut, responses=responses())
def check(body: CheckIn, engine: EngineDep, _: RulesReader) -> CheckOut:
    """Every problem of a rules document, each with its field, against the network too."""
    found = engine.rule_sets.check_document(body.rules)
    return CheckOut(valid=not found, problems=found)  # type: ignore[arg-type]


@router.get("/activations", response_model=list[ActivationOut], responses=responses())
def activations(engine: EngineDep, _: RulesReader, limit: Limit = 100) -> list[ActivationOut]:
    """Every activation, newest first: which version, instead of which, who, when and why."""
    return [ActivationOut.model_validate(a) for a in engine.rule_sets.activations(limit)]


@router.post("/rollback", response_model=RuleSetOut, responses=responses(409))
def rollback(body: ActivationIn, engine: EngineDep, key: RulesWriter) -> RuleSetOut:
    """Re-activate the version routing used before the active one, recorded like any
    activation."""
    return RuleSetOut.model_validate(engine.rule_sets.rollback(by=who(key), reason=body.reason))


@router.get("/{version}", response_model=RuleSetOut, responses=responses(404))
def read(version: VersionPath, engine: EngineDep, _: RulesReader) -> RuleSetOut:
    return RuleSetOut.model_validate(engine.rule_sets.get(version))


@router.put("/{version}", response_model=RuleSetOut, responses=responses(404, 409, 413))
def change(
    version: VersionPath, body: DraftChangeIn, engine: EngineDep, _: RulesWriter
) -> RuleSetOut:
    """Change a draft; a version that has been activated is immutable (409)."""
    changed = engine.rule_sets.update(version, body.rules, name=body.name, note=body.note)
    return RuleSetOut.model_validate(changed)


@router.get("/{version}/problems", response_model=CheckOut, responses=responses(404))
def problems(version: VersionPath, engine: EngineDep, _: RulesReader) -> CheckOut:
    """Every problem of a stored version, each with its field (none: it may be activated)."""
    found = engine.rule_sets.check(version)
    return CheckOut(valid=not found, problems=found)  # type: ignore[arg-type]


@router.post("/{version}/activate", response_model=RuleSetOut, responses=responses(404, 409))
def activate(
    version: VersionPath, body: ActivationIn, engine: EngineDep, key: RulesWriter
) -> RuleSetOut:
    """Make the version the one routing uses, atomically, recorded with who and why. A version
    with problems is refused (422, each problem with its field)."""
    made = engine.rule_sets.activate(version, by=who(key), reason=body.reason)
    return RuleSetOut.model_validate(made)
