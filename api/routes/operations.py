"""Operations: API keys, reconcile, rebuild (the `admin` scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, EngineDep, StateDep
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.operations import KeyIn, KeyOut, NewKeyOut, RebuildOut, ReconcileIn, ReconcileOut
from api.views import key_out, reconcile_out
from inventory import rebuild, reconcile

router = APIRouter(prefix="/v1/admin", tags=["operations"], route_class=LimitedRoute)


@router.post(
    "/keys", response_model=NewKeyOut, status_code=status.HTTP_201_CREATED, responses=responses()
)
def create_key(body: KeyIn, engine: EngineDep, _: Admin) -> NewKeyOut:
    """A new key with its scopes; its secret is in this answer only."""
    key, secret = engine.keys.create(body.name, list(body.scopes), body.rate_per_s)
    return NewKeyOut(**key_out(key).model_dump(), key=secret)


@router.get("/keys", response_model=list[KeyOut], responses=responses())
def keys(engine: EngineDep, _: Admin) -> list[KeyOut]:
    """Every key, revoked ones too; never a secret."""
    return [key_out(key) for key in engine.keys.list()]


@router.delete("/keys/{key_id}", response_model=KeyOut, responses=responses(404))
async def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=16, pattern=r"^k_[0-9a-f]+$")],
    state: StateDep,
    _: Admin,
) -> KeyOut:
    """Revoke a key for good: every API process refuses it from its next request."""
    key = await run_in_threadpool(state.engine.keys.revoke, key_id)
    await state.gate.revoked()
    return key_out(key)


@router.post("/reconcile", response_model=ReconcileOut, responses=responses())
def reconcile_ledger(body: ReconcileIn, engine: EngineDep, _: Admin) -> ReconcileOut:
    """Check every position against its history and the projection; with `repair`, fix drift."""
    return reconcile_out(reconcile(engine.ledger, repair=body.repair))


@router.post("/rebuild", response_model=RebuildOut, responses=responses())
def rebuild_projection(engine: EngineDep, _: Admin) -> RebuildOut:
    """Rebuild the projection from SQL beside the live one, then switch readers to it."""
    report = rebuild(engine.ledger)
    return RebuildOut(
        positions=report.positions, inbound_skus=report.inbound_skus,
        network_version=report.network_version, generation=report.generation,
    )  # fmt: skip
