"""Rule sets over HTTP: what a planner drafts and activates, and what they are answered. The
rules document is the allocation core's (allocation.rules.Rules); a draft may not validate yet,
so it is taken as an object and checked when validated or activated."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from api.schemas.common import CLIENT_TEXT, In, Out

MAX_RULE_KEYS = 64  # top-level fields of a rules document
Version = Annotated[
    str, StringConstraints(min_length=1, max_length=16, pattern=r"^(v[0-9]{1,9}|default)$")
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=CLIENT_TEXT)]
Note = Annotated[str, Field(max_length=2048)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=CLIENT_TEXT)]
Document = Annotated[
    dict[Annotated[str, Field(max_length=64)], Any],
    Field(max_length=MAX_RULE_KEYS, description="the rules document (allocation.rules.Rules)"),
]


class DraftIn(In):
    name: Name
    rules: Document | None = Field(default=None, description="none: a copy of `based_on`'s")
    based_on: Version | None = Field(default=None, description="the version it is drafted from")
    note: Note = ""


class DraftChangeIn(In):
    rules: Document
    name: Name | None = None
    note: Note | None = None


class ActivationIn(In):
    reason: Reason = Field(description="why: kept with the activation")


class CheckIn(In):
    rules: Document


class ProblemOut(Out):
    field: Annotated[str, Field(max_length=256)] = Field(description="dotted path in the rules")
    message: Annotated[str, Field(max_length=1024)]


class CheckOut(Out):
    valid: bool
    problems: list[ProblemOut] = Field(max_length=1_000)


class RuleSetOut(Out):
    version: Version
    name: Name
    status: Literal["draft", "active", "retired"]
    rules: dict[str, Any]
    based_on: Version | None = None
    note: Note
    created_by: Annotated[str, Field(max_length=128)]
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    first_activated_at: AwareDatetime | None = Field(
        default=None, description="set: the version is immutable"
    )


class ActivationOut(Out):
    version: Version
    previous: Version
    by: Annotated[str, Field(max_length=128)]
    reason: Reason
    at: AwareDatetime


class ExperimentIn(In):
    name: Name
    treatment: Version = Field(description="routes `share` of the orders; the active one the rest")
    share: float = Field(gt=0, lt=1, description="of orders routed by the treatment, 0 to 1")
    reason: Reason


class StopIn(In):
    keep: Literal["control", "treatment"] = Field(description="treatment: activate its version")
    reason: Reason


class ExperimentOut(Out):
    id: Annotated[str, Field(max_length=24)]
    name: Name
    status: Literal["running", "stopped"]
    control: Version
    treatment: Version
    share: float = Field(gt=0, lt=1)
    kept: Version | None = None
    started_by: Annotated[str, Field(max_length=128)]
    started_at: AwareDatetime
    stopped_by: Annotated[str, Field(max_length=128)] | None = None
    stopped_at: AwareDatetime | None = None
    reason: Reason
    report: dict[str, Any] = Field(
        description="per arm: orders, mean cost with its 95 % interval, shipments per order, "
        "backorder rate; the difference (treatment less control) with its interval, and the "
        "orders each arm needs to tell a difference of that size (5 %, power 80 %)"
    )
