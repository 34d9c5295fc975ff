"""The order lifecycle against a plain reference model, on both backends: random sequences of
stock events, cart holds (held, released, expired), orders (some consuming a cart), shipment
events (accepted, shipped, made ready, collected, rejected for each reason, cancelled),
cancellations, and returns of what customers have (registered, refused past what they have,
received at their destination). After every step:
  - every position's on_hand is the model's (stock events, settlements and rejections applied
    by hand), and its reserved is the units of the held carts and open shipments there;
  - nothing is oversold: where reserved exceeds on_hand, only cart holds are short (every short
    allocation has been moved back to its order and routed again);
  - every reservation moves on from `held` once, and never back;
  - every ordered unit is in a shipment that stands, backordered, or cancelled;
  - returned units are back in stock where their line went, once, when sellable.
The model does not route: it checks the engine's plans against what the engine may not do.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from dom.orders.model import OrderIn, RejectionReason, ShipmentEvent
from dom.orders.service import Orders
from dom.orders.watch import StockWatch
from dom.returns.errors import InvalidReturn, ReturnConflict
from dom.returns.model import ReturnIn
from dom.returns.service import Returns
from dom.rulesets import RuleSets
from inventory import HoldStatus, LocationIn, Reservations
from inventory.sql.schema import ReservationRow
from tests.conftest import Backend

RES = ReservationRow.__table__
S1_CAPACITY = 2  # shipments a day: the store's day fills up within a run
LOCATIONS = [
    LocationIn(
        id="WH", type="warehouse", lat=48.85, lon=2.35, capabilities={"ship", "transfer", "returns"}
    ),
    LocationIn(
        id="S1",
        type="store",
        lat=45.76,
        lon=4.83,
        capacity_per_day=S1_CAPACITY,
        capabilities={"ship", "pickup", "returns"},
    ),
    LocationIn(id="S2", type="store", lat=43.30, lon=5.37, capabilities={"pickup"}),
]
PLACES = ["WH", "S1", "S2"]
CART_TTL_S = 600
MAX_EXAMPLES = 100
MACHINES = itertools.count()  # each machine's SKUs are its own in the test's ledger
NEXT = {"ship": ["accepted", "shipped", "rejected", "cancelled"],
        "transfer": ["accepted", "shipped", "ready_for_pickup", "collected", "rejected",
                     "cancelled"],
        "shelf": ["accepted", "ready_for_pickup", "collected", "rejected", "cancelled"]}  # fmt: skip
SETTLES = {"ship": "shipped", "transfer": "shipped", "shelf": "collected"}
FINISHES = {"ship": "shipped", "transfer": "collected", "shelf": "collected"}  # the customer has it
DROP_OFFS = [{"store": "S1"}, {"store": "S2"}, {"lat": 45.7, "lon": 4.8}]  # S2 takes no returns


class Lifecycle(RuleBasedStateMachine):
    def __init__(self, backend: Backend, now: list[datetime]) -> None:
        super().__init__()
        self.backend, self.now = backend, now
        ledger = backend.ledger
        self.reservations = Reservations(ledger, backend.reader, group_commit=False)
        self.orders = Orders(ledger, self.reservations, backend.reader, RuleSets(ledger.engine))
        self.watch = StockWatch(self.orders.ctx, 3600)  # its passes are run by hand, below
        self.changed: set[tuple[str, str]] = set()
        ledger.watch_stock(lambda changed: self.changed.update(changed))
        machine = next(MACHINES)
        tag = f"{machine:05d}"  # not random: the same ids draw the same examples
        # A day of its own, each machine: what a store ships in a day is not another's.
        self.now[0] = self.now[0].replace(hour=0, minute=0, second=0, microsecond=0)
        self.now[0] += timedelta(days=1)
        self.skus = [f"A-{tag}", f"B-{tag}"]
        self.on_hand: dict[tuple[str, str], int] = defaultdict(int)
        self.carts: dict[str, HoldStatus] = {}
        self.seen: dict[str, list[HoldStatus]] = defaultdict(list)
        self.order_ids: list[str] = []
        self.returns = Returns(ledger, self.orders.ctx.rule_sets)
        self.delivered: dict[tuple[str, str], int] = defaultdict(int)  # (order, line): units
        self.returned: dict[tuple[str, str], int] = defaultdict(int)
        self.unreceived: dict[str, list[dict[str, Any]]] = {}  # return id: its lines, routed
        self.n = 0

    # -- helpers -------------------------------------------------------------------------------
    def _id(self, kind: str) -> str:
        self.n += 1
        return f"{kind}-{self.skus[0]}-{self.n}"

    def _tick(self) -> None:
        """Time moves on between steps: a parcel leaves after the count that saw it."""
        self.now[0] += timedelta(seconds=1)

    def _ingest(self, location: str, sku: str, kind: str, quantity: int) -> None:
        self._tick()
        event = {"event_id": self._id("e"), "location": location, "sku": sku, "type": kind,
                 "quantity": quantity, "occurred_at": self.now[0].isoformat(), "source": "test"}  # fmt: skip
        result = self.backend.ledger.ingest([event])
        assert result.summary()["applied"] == 1, result.verdicts

    def _settle_watch(self) -> None:
        """What the running server's watch thread does after stock changes."""
        keys, self.changed = self.changed, set()
        self.watch.handle(keys)

    def _open_shipments(self) -> list[dict[str, Any]]:
        found = []
        for order_id in self.order_ids:
            order = self.orders.get(order_id)
            found += [s | {"order": order_id} for s in order["shipments"]
                      if s["status"] not in ("rejected", "cancelled", "collected")
                      and not (s["route"] == "ship" and s["status"] == "shipped")]  # fmt: skip
        return found

    # -- stock ---------------------------------------------------------------------------------
    @initialize()
    def network(self) -> None:
        """The locations, and some stock of each SKU at each, so that orders are served early."""
        self.backend.ledger.upsert_locations([loc.to_location() for loc in LOCATIONS])
        for place in PLACES:
            for sku in self.skus:
                self._ingest(place, sku, "receive", 2)
                self.on_hand[(place, sku)] += 2
        self.changed.clear()

    @rule(place=st.sampled_from(PLACES), sku=st.integers(0, 1), units=st.integers(1, 4))
    def receive(self, place: str, sku: int, units: int) -> None:
        self._ingest(place, self.skus[sku], "receive", units)
        self.on_hand[(place, self.skus[sku])] += units
        self._settle_watch()

    @rule(place=st.sampled_from(PLACES), sku=st.integers(0, 1), units=st.integers(0, 3))
    def count(self, place: str, sku: int, units: int) -> None:
        self._ingest(place, self.skus[sku], "count", units)
        self.on_hand[(place, self.skus[sku])] = units
        self._settle_watch()

    # -- carts ---------------------------------------------------------------------------------
    @rule(sku=st.integers(0, 1), units=st.integers(1, 3))
    def hold_cart(self, sku: int, units: int) -> None:
        self._tick()
        cart_id = self._id("cart")
        outcome = self.reservations.hold(
            {"id": cart_id, "lines": [{"sku": self.skus[sku], "quantity": units}],
             "ttl_s": CART_TTL_S}
        )  # fmt: skip
        if outcome.status is HoldStatus.held:
            self.carts[cart_id] = HoldStatus.held

    @precondition(lambda self: HoldStatus.held in self.carts.values())
    @rule(data=st.data())
    def release_cart(self, data: st.DataObject) -> None:
        held = sorted(c for c, s in self.carts.items() if s is HoldStatus.held)
        cart_id = data.draw(st.sampled_from(held))
        assert self.reservations.release(cart_id) is HoldStatus.released
        self.carts[cart_id] = HoldStatus.released

    @rule()
    def time_passes(self) -> None:
        self.now[0] += timedelta(seconds=CART_TTL_S + 1)
        self.reservations.expire_due()
        for cart_id, status in self.carts.items():
            if status is HoldStatus.held:
                self.carts[cart_id] = HoldStatus.expired

    # -- orders --------------------------------------------------------------------------------
    @rule(
        lines=st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3)), min_size=1, max_size=2,
                       unique_by=lambda line: line[0]),
        pickup=st.booleans(),
        with_cart=st.booleans(),
    )  # fmt: skip
    def submit(self, lines: list[tuple[int, int]], pickup: bool, with_cart: bool) -> None:
        self._tick()
        held = sorted(c for c, s in self.carts.items() if s is HoldStatus.held)
        cart = held[0] if with_cart and held else None
        delivery = ({"method": "pickup", "store": "S2"} if pickup
                    else {"method": "ship", "lat": 45.7, "lon": 4.8})  # fmt: skip
        order = OrderIn.model_validate({
            "id": self._id("o"), "delivery": delivery, "reservation": cart,
            "lines": [{"id": f"L{n}", "sku": self.skus[s], "quantity": q}
                      for n, (s, q) in enumerate(lines)],
        })  # fmt: skip
        answer, replayed = self.orders.submit(order)
        assert not replayed
        self.order_ids.append(order.id)
        if cart is not None:
            self.carts[cart] = HoldStatus.released  # its units are the order's now
        again, replayed = self.orders.submit(order)
        assert replayed and again == answer

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data())
    def shipment_event(self, data: st.DataObject) -> None:
        self._tick()
        open_ = self._open_shipments()
        if not open_:
            return
        shipment = data.draw(st.sampled_from(open_))
        kind = ShipmentEvent(data.draw(st.sampled_from(NEXT[shipment["route"]])))
        reason = None
        if kind is ShipmentEvent.rejected:
            reason = data.draw(st.sampled_from(list(RejectionReason)))
        self._post(shipment, kind, reason)

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        """A shipment goes all the way to the customer (so that there is something to return)."""
        self._tick()
        open_ = [s for s in self._open_shipments() if s["status"] in ("allocated", "accepted")]
        if not open_:
            return
        shipment = data.draw(st.sampled_from(open_))
        steps = {"ship": ["shipped"], "transfer": ["shipped", "ready_for_pickup", "collected"],
                 "shelf": ["ready_for_pickup", "collected"]}[shipment["route"]]  # fmt: skip
        for kind in steps:
            self._tick()
            if not self._post(shipment, ShipmentEvent(kind), None):
                return  # a watch pass moved it (a count left it short): it stands elsewhere

    def _post(
        self, shipment: dict[str, Any], kind: ShipmentEvent, reason: RejectionReason | None
    ) -> bool:
        """Post the event and apply its effect to the model; whether the engine took it."""
        try:
            _, replayed = self.orders.post_event(shipment["id"], kind, reason)
        except ValueError:  # an illegal move for its state: refused, nothing changes
            return False
        if replayed:
            return False
        order = self.orders.get(shipment["order"])
        lines = {line["id"]: line["sku"] for line in order["lines"]}
        for line in shipment["lines"]:
            if kind == FINISHES[shipment["route"]]:
                self.delivered[(shipment["order"], line["id"])] += line["quantity"]
            key = (shipment["location"], lines[line["id"]])
            if kind == SETTLES[shipment["route"]] or reason is RejectionReason.damaged:
                self.on_hand[key] -= line["quantity"]
            elif reason is RejectionReason.not_found:
                self.on_hand[key] = 0
        self.changed.update((shipment["location"], sku) for sku in self.skus)
        self._settle_watch()
        return True

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self._tick()
        order_id = data.draw(st.sampled_from(self.order_ids))
        try:
            self.orders.cancel(order_id, None, "test")
        except Exception as error:  # nothing left to cancel: a conflict, and nothing changes
            assert "nothing left to cancel" in str(error)

    # -- returns -------------------------------------------------------------------------------
    @precondition(lambda self: self.delivered)
    @rule(data=st.data(), condition=st.sampled_from(["new", "opened", "damaged"]),
          drop_off=st.sampled_from(DROP_OFFS), more=st.booleans(), now=st.booleans())  # fmt: skip
    def register_return(
        self, data: st.DataObject, condition: str, drop_off: dict[str, Any], more: bool, now: bool
    ) -> None:
        """A customer returns some of what they have (or, `more`, one unit too many); `now`:
        the destination has it at once."""
        self._tick()
        (order_id, line_id) = data.draw(st.sampled_from(sorted(self.delivered)))
        left = self.delivered[(order_id, line_id)] - self.returned[(order_id, line_id)]
        quantity = left + 1 if more or not left else data.draw(st.integers(1, left))
        sku = next(ln["sku"] for ln in self.orders.get(order_id)["lines"] if ln["id"] == line_id)
        ret = ReturnIn.model_validate({
            "id": self._id("r"), "order": order_id, "drop_off": drop_off,
            "lines": [{"id": "R1", "sku": sku, "quantity": quantity, "condition": condition,
                       "order_line": line_id}],
        })  # fmt: skip
        try:
            answer, replayed = self.returns.register(ret)
        except InvalidReturn as error:  # S2 takes no returns
            assert drop_off == {"store": "S2"}, error
            return
        except ReturnConflict as error:  # more than the customer has
            assert quantity > left, error
            return
        assert drop_off != {"store": "S2"} and quantity <= left and not replayed
        [line] = answer["lines"]
        accepting = {"WH", "S1"} if drop_off.get("store") == "S1" else {"WH"}
        assert line["destination"] in accepting, line
        self.returned[(order_id, line_id)] += quantity
        self.unreceived[ret.id] = answer["lines"]
        if now:
            self._receive(ret.id, twice=False)

    @precondition(lambda self: self.unreceived)
    @rule(data=st.data(), twice=st.booleans())
    def receive_return(self, data: st.DataObject, twice: bool) -> None:
        self._receive(data.draw(st.sampled_from(sorted(self.unreceived))), twice)

    def _receive(self, return_id: str, twice: bool) -> None:
        self._tick()
        [line] = self.unreceived.pop(return_id)
        for _ in range(2 if twice else 1):  # a receipt reported again restocks nothing more
            answer, _ = self.returns.receive(return_id, line["destination"])
            assert answer["status"] == "received"
        if line["condition"] != "damaged":  # new and opened units are sold again
            self.on_hand[(line["destination"], line["sku"])] += line["quantity"]
        self._settle_watch()

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def positions_match_the_model_and_reserved_is_what_is_open(self) -> None:
        if not self.order_ids and not self.carts and not self.on_hand:
            return
        reserved: dict[tuple[str, str], int] = defaultdict(int)
        for cart_id, status in self.carts.items():
            if status is HoldStatus.held:
                for take in self.reservations.get(cart_id).takes:
                    reserved[(take.location, take.sku)] += take.quantity
        for shipment in self._open_shipments():
            if shipment["status"] in ("allocated", "accepted") or (
                shipment["route"] == "shelf" and shipment["status"] == "ready_for_pickup"
            ):
                order = self.orders.get(shipment["order"])
                lines = {line["id"]: line["sku"] for line in order["lines"]}
                for line in shipment["lines"]:
                    reserved[(shipment["location"], lines[line["id"]])] += line["quantity"]
        for place in PLACES:
            for sku in self.skus:
                found = self.backend.ledger.position(place, sku)
                on_hand = found.on_hand if found else 0
                held = found.reserved if found else 0
                assert on_hand == self.on_hand[(place, sku)], (place, sku)
                assert held == reserved[(place, sku)], (place, sku, held, dict(reserved))

    @invariant()
    def only_carts_and_staged_pickups_are_ever_left_short(self) -> None:
        """Every allocation a count left short was moved back to its order and routed again,
        but for pickups already made ready (the units are bagged at the counter)."""
        keys = [(place, sku) for place in PLACES for sku in self.skus]
        staged = {
            "order:" + s["id"] for s in self._open_shipments() if s["status"] == "ready_for_pickup"
        }
        for hold in self.reservations.short(keys):
            assert hold.status is HoldStatus.held or hold.reservation_id in staged, hold

    @invariant()
    def a_reservation_moves_on_from_held_once(self) -> None:
        with self.backend.ledger.engine.connect() as conn:
            rows = conn.execute(
                select(RES.c.id, RES.c.status).where(RES.c.id.like(f"%{self.skus[0]}%"))
            ).all()
        for row in rows:
            history = self.seen[row.id]
            status = HoldStatus(row.status)
            if not history or history[-1] is not status:
                history.append(status)
            assert history.count(HoldStatus.held) <= 1 and history[0] in (
                HoldStatus.held, HoldStatus.consumed,
            ), (row.id, history)  # fmt: skip
            assert HoldStatus.held not in history[1:], (row.id, history)
            assert history[-1] is status
            if len(history) > 1:
                assert history[-2] is not HoldStatus.settled, (row.id, history)

    @invariant()
    def no_location_sends_more_shipments_a_day_than_its_capacity(self) -> None:
        days: dict[str, int] = defaultdict(int)
        for order_id in self.order_ids:
            for shipment in self.orders.get(order_id)["shipments"]:
                if shipment["location"] == "S1" and shipment["status"] not in (
                    "rejected", "cancelled",
                ):  # fmt: skip
                    days[shipment["created_at"][:10]] += 1
        assert all(n <= S1_CAPACITY for n in days.values()), dict(days)

    @invariant()
    def every_ordered_unit_is_somewhere(self) -> None:
        for order_id in self.order_ids:
            order = self.orders.get(order_id)
            placed: dict[str, int] = defaultdict(int)
            for shipment in order["shipments"]:
                if shipment["status"] not in ("rejected", "cancelled"):
                    for line in shipment["lines"]:
                        placed[line["id"]] += line["quantity"]
            for waiting in order["backordered"]:
                placed[waiting["id"]] += waiting["quantity"]
            for line in order["lines"]:
                assert placed[line["id"]] + line["cancelled"] == line["quantity"], (order, line)


@pytest.mark.parametrize("steps", [30])
def test_the_order_lifecycle_keeps_the_ledger_true(backend: Backend, steps: int) -> None:
    now = [datetime.now(UTC) - timedelta(days=2_000)]  # a day a machine, shrinking included
    backend.ledger.clock = lambda: now[0]
    run_state_machine_as_test(
        lambda: Lifecycle(backend, now),
        settings=settings(
            max_examples=MAX_EXAMPLES, stateful_step_count=steps, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )  # fmt: skip
