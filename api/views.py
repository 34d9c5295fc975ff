"""From the engine's answers to the API's models (and the API's input to the engine's queries)."""

from __future__ import annotations

from api.schemas.checkout import (
    AvailabilityOut,
    CartOut,
    ContributionOut,
    ExplanationOut,
    HeldOut,
    PromiseOut,
    ReservationOut,
    Where,
)
from api.schemas.feeds import CountOut, VerdictOut, VerdictsOut
from api.schemas.network import LocationOut, SafetyRuleOut, SafetyRulesOut
from api.schemas.operations import DriftOut, KeyOut, ReconcileOut, ShortOut
from dom.checkout import Cart
from dom.keys import ApiKey
from inventory import (
    BatchResult,
    FullCount,
    HoldOutcome,
    Location,
    Query,
    ReconcileReport,
    Reservation,
    SafetyRule,
    SkuAvailability,
    Verdict,
    from_micros,
)


def to_query(where: Where, quantity: int) -> Query:
    store = where.store if where.method == "pickup" else None
    return Query(method=where.method, store=store, channel=where.channel, quantity=quantity)


def availability_out(found: SkuAvailability, cls: type = AvailabilityOut) -> AvailabilityOut:
    promise = found.promise
    pickup = found.method == "pickup"
    return cls(
        sku=found.sku,
        method=found.method,
        available=found.available,
        held_back=found.held_back,
        shelf=found.shelf if pickup else None,
        transferable=found.transferable if pickup else None,
        promise=PromiseOut(
            quantity=promise.quantity,
            met=promise.at is not None,
            at=promise.at,
            from_inbound=promise.from_inbound,
        ),
        **({"contributions": _contributions(found)} if cls is ExplanationOut else {}),
    )


def cart_out(cart: Cart) -> CartOut:
    lines = [availability_out(line) for line in cart.lines]
    method = lines[0].method if lines else "ship"
    return CartOut(method=method, lines=lines, complete=cart.complete, promise_at=cart.promise_at)


def explanation_out(found: SkuAvailability) -> ExplanationOut:
    return availability_out(found, ExplanationOut)  # type: ignore[return-value]


def _contributions(found: SkuAvailability) -> list[ContributionOut]:
    return [
        ContributionOut(
            location=part.location, type=part.type, on_hand=part.on_hand, reserved=part.reserved,
            safety=part.safety, fenced=part.fenced, counted=part.counted,
            lead_hours=part.lead_hours,
            reported_at=from_micros(part.reported_s * 1_000_000) if part.reported_s else None,
            excluded=part.excluded, short=part.short, reserved_by_channel=dict(part.by_channel),
        )
        for part in found.contributions
    ]  # fmt: skip


def hold_out(outcome: HoldOutcome, channel: str) -> ReservationOut:
    """A hold's answer from its outcome, with no read back: the same for the first answer and
    its replays (`GET` tells when it was made, and by which order it was consumed)."""
    return ReservationOut(
        id=outcome.id,
        status=outcome.status.value,
        channel=channel,
        held=[
            HeldOut(line=t.line, sku=t.sku, location=t.location, quantity=t.quantity)
            for t in sorted(outcome.takes, key=lambda t: (t.line, t.location))  # as recorded
        ],
        expires_at=from_micros(outcome.expires_us) if outcome.expires_us else None,
    )


def reservation_out(reservation: Reservation) -> ReservationOut:
    return ReservationOut(
        id=reservation.id,
        status=reservation.status.value,
        channel=reservation.channel,
        held=[
            HeldOut(line=t.line, sku=t.sku, location=t.location, quantity=t.quantity)
            for t in reservation.takes
        ],
        expires_at=from_micros(reservation.expires_us) if reservation.expires_us else None,
        created_at=from_micros(reservation.created_us),
        order_id=reservation.order_id,
    )


def verdict_out(verdict: Verdict) -> VerdictOut:
    return VerdictOut(
        event_id=verdict.event_id,
        outcome=verdict.outcome.value,
        reason=verdict.reason,
        first=verdict.first.value if verdict.first is not None else None,
    )


def verdicts_out(result: BatchResult) -> VerdictsOut:
    return VerdictsOut(
        verdicts=[verdict_out(verdict) for _, verdict in result.verdicts], summary=result.summary()
    )


def count_out(count: FullCount) -> CountOut:
    return CountOut(
        id=count.count_id, location=count.location, counted_at=count.counted_at,
        listed=count.listed, zeroed=count.zeroed, outcomes=count.outcomes,
        rejected=[verdict_out(v) for v in count.rejected],
    )  # fmt: skip


def location_out(location: Location) -> LocationOut:
    return LocationOut(
        id=location.id, type=location.type.value, lat=location.lat, lon=location.lon,
        capabilities=sorted(c.value for c in location.capabilities),
        capacity_per_day=location.capacity_per_day, lead_time_hours=location.lead_time_hours,
        transfer_days=location.transfer_days, active=location.active, region=location.region,
    )  # fmt: skip


def safety_rules_out(rules: list[SafetyRule]) -> SafetyRulesOut:
    return SafetyRulesOut(
        rules=[
            SafetyRuleOut(
                units=r.units, location_type=r.location_type, location=r.location, sku=r.sku
            )
            for r in rules
        ]
    )


def key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id, name=key.name, scopes=sorted(key.scopes), rate_per_s=key.rate_per_s,
        created_at=from_micros(key.created_us),
        revoked_at=from_micros(key.revoked_us) if key.revoked_us else None,
    )  # fmt: skip


def reconcile_out(report: ReconcileReport) -> ReconcileOut:
    return ReconcileOut(
        checked=report.checked,
        drifts=[
            DriftOut(kind=d.kind, location=d.location, sku=d.sku, ledger=d.ledger, found=d.found, detail=d.detail)
            for d in report.drifts
        ],
        repaired=report.repaired,
        short=[
            ShortOut(
                location=p.location, sku=p.sku, on_hand=p.on_hand, reserved=p.reserved,
                safety=p.safety, missing=p.missing, holds=[h.reservation_id for h in p.holds],
            )
            for p in report.short
        ],
    )  # fmt: skip
