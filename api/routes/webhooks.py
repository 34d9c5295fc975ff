"""Webhook subscriptions: events POSTed to a URL, signed, in order, at least once (`orders:write`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import EngineDep, OrdersWriter
from api.limits import LimitedRoute
from api.problems import responses
from api.schemas.common import Identifier
from api.schemas.events import NewWebhookOut, WebhookIn, WebhookOut
from dom.events.subscriptions import Subscription
from inventory import from_micros

router = APIRouter(prefix="/v1", tags=["events"], route_class=LimitedRoute)
WebhookId = Annotated[Identifier, Path(description="`wh_...`, as its creation answered")]


@router.post(
    "/webhooks",
    response_model=NewWebhookOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(409),
)
def create(body: WebhookIn, engine: EngineDep, _: OrdersWriter) -> NewWebhookOut:
    """A new subscription; its signing secret is in this answer only."""
    made, secret = engine.webhooks.create(str(body.url), body.types, body.subject, body.after)
    return NewWebhookOut(**webhook_out(made).model_dump(), secret=secret)


@router.get("/webhooks", response_model=list[WebhookOut], responses=responses())
def listed(engine: EngineDep, _: OrdersWriter) -> list[WebhookOut]:
    """Every subscription with its delivery state; never a secret."""
    return [webhook_out(found) for found in engine.webhooks.list()]


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, responses=responses(404))
def read(webhook_id: WebhookId, engine: EngineDep, _: OrdersWriter) -> WebhookOut:
    """How far delivery has got: the cursor, and the failures on the next event if any."""
    return webhook_out(engine.webhooks.get(webhook_id))


@router.delete("/webhooks/{webhook_id}", response_model=WebhookOut, responses=responses(404))
def delete(webhook_id: WebhookId, engine: EngineDep, _: OrdersWriter) -> WebhookOut:
    """Stop delivering: no delivery starts after this answer (one under way may finish).
    Answers the subscription as it was."""
    return webhook_out(engine.webhooks.delete(webhook_id))


def webhook_out(found: Subscription) -> WebhookOut:
    return WebhookOut(
        id=found.id, url=found.url, types=sorted(found.types) if found.types else None,
        subject=found.subject, created_at=from_micros(found.created_us), cursor=found.cursor,
        failures=found.failures, last_attempt_at=_at(found.last_attempt_us),
        last_error=found.last_error, next_attempt_at=_at(found.next_attempt_us),
        delivered_at=_at(found.delivered_us),
    )  # fmt: skip


def _at(us: int | None) -> datetime | None:
    return from_micros(us) if us is not None else None
