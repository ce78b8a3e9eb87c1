"""The order gateway: the only way an order reaches a broker.

`submit(intent, portfolio)` does, in this order:

1. **Mode guard** — a live broker without every live switch raises `TradingRefusedError`.
2. **Idempotency** — if the journal already has an order for `intent.id`, that order is the
   answer. A PENDING or UNKNOWN one (a crash or a timeout between journal and broker) is first
   reconciled with `broker.order_by_correlation_id(intent.id)`. This comes before the risk check
   on purpose: the existing order was approved when it was created, and re-checking it against
   a portfolio that now *contains* it would refuse a harmless retry.
3. **Risk check** — the limits and the contract (whole lots, prices on the tick); a refusal is
   journalled with its reasons and nothing is sent.
4. **Write-ahead** — a PENDING row is written before the broker is called; the unique intent id
   makes a concurrent second create fail in the database, not at the broker.
5. **Place** — the broker's answer is recorded. NOT_SENT (the broker is certain nothing left,
   e.g. the request could not be built) is final, with the reason. UNKNOWN (a timeout, a dropped
   connection, any other exception) is reconciled at once by correlation id: found → adopted;
   not found → the row stays UNKNOWN and `OrderStateUnknownError` is raised.

**A create is never re-sent.** An UNKNOWN order is settled by reconciling it again (a retry,
a restart, the position manager's passes): found → adopted; still absent `SETTLE_ABSENT_AFTER`
after it was journalled → NOT_SENT, "not placed" (a request that timed out cannot arrive that
late); or by a person with `tradeloop orders resolve` (NOT_SENT too). Sending again means a new
intent (the next `sequence`), which is what the position manager does for an exit.

A Prefect task retry or a process restart takes the same path and lands in step 2.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tradeloop.clock import Clock
from tradeloop.domain.execution.contract import is_on_tick, tick_of
from tradeloop.domain.execution.journal import (
    DuplicateIntentError,
    OrderJournal,
    OrderRecord,
    Refusal,
)
from tradeloop.domain.execution.mode import ModeGuard, TradingMode
from tradeloop.domain.execution.orders import Broker, BrokerOrder, OrderIntent, OrderStatus
from tradeloop.domain.market.contracts import ContractTable
from tradeloop.domain.risk.decision import RiskDecision
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.risk.state import Portfolio
from tradeloop.errors import (
    NotFoundError,
    NotSentError,
    OperationalError,
    OrderStateUnknownError,
    UserError,
)


class SubmitOutcome(StrEnum):
    PLACED = "placed"
    """Created now."""
    EXISTING = "existing"
    """Already journalled: the same order is returned, nothing is sent."""
    ADOPTED = "adopted"
    """The outcome was unknown; the broker has it under our correlation id, so it was adopted."""
    REFUSED = "refused"
    """The risk manager refused it; nothing was sent."""
    NOT_SENT = "not_sent"
    """It failed before anything left this process (journalled NOT_SENT with the reason)."""


class GatewayResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: SubmitOutcome
    intent_id: str
    mode: TradingMode
    order: OrderRecord | None = None
    decision: RiskDecision | None = None

    @property
    def accepted(self) -> bool:
        """True when an order exists at the broker and was not rejected."""
        return self.order is not None and self.order.status not in (
            OrderStatus.REJECTED,
            OrderStatus.UNKNOWN,
            OrderStatus.PENDING,
            OrderStatus.NOT_SENT,
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.decision.reasons if self.decision else ()


_log = logging.getLogger(__name__)
_UNSETTLED = (OrderStatus.PENDING, OrderStatus.UNKNOWN)

SETTLE_ABSENT_AFTER = timedelta(minutes=2)
"""An order the broker still does not list this long after its PENDING row was written is
settled as not placed. Far beyond any broker timeout (Dhan's client waits 10 s): a create that
timed out is either in the broker's book by then or never arrived."""


class OrderGateway:
    """Guards, risk-checks, journals and places orders; never creates one twice."""

    def __init__(
        self,
        broker: Broker,
        journal: OrderJournal,
        risk: RiskManager,
        mode_guard: ModeGuard,
        clock: Clock,
    ) -> None:
        self.broker = broker
        self.journal = journal
        self.risk = risk
        self.mode_guard = mode_guard
        self.clock = clock

    @property
    def contracts(self) -> ContractTable:
        """The lot and tick table of the risk manager: one table on the whole order path."""
        return self.risk.contracts

    @property
    def mode(self) -> TradingMode:
        return self.mode_guard.mode

    def submit(
        self, intent: OrderIntent, portfolio: Portfolio, *, flatten: bool = False
    ) -> GatewayResult:
        """Place `intent` at most once (see the module docstring for the steps).

        `flatten=True` is the position manager's exit path: accepted while the kill switch is
        on or the day is HALTED, for exits that reduce a position only.
        """
        self.mode_guard.require_can_send(self.broker)
        existing = self.journal.get(intent.id)
        if existing is not None:
            return self._existing(existing)
        now = self.clock.now()
        decision = self.risk.check(intent, portfolio, now, flatten=flatten)
        if not decision.approved:
            self.journal.record_refusal(Refusal(intent=intent, reasons=decision.reasons, at=now))
            return GatewayResult(
                outcome=SubmitOutcome.REFUSED,
                intent_id=intent.id,
                mode=self.mode,
                decision=decision,
            )
        try:
            self.journal.create_pending(intent, self.broker.name, self.mode.value, now)
        except DuplicateIntentError:
            # Another worker created it between our read and our write: theirs is the order.
            raced = self.journal.get(intent.id)
            if raced is None:
                raise
            return self._existing(raced)
        answer, failure = self._place(intent)
        record = self.journal.update(intent.id, answer, self.clock.now())
        if record.status is OrderStatus.NOT_SENT:
            _log.warning("order %s was not sent: %s", intent.id, record.message)
            return GatewayResult(
                outcome=SubmitOutcome.NOT_SENT,
                intent_id=intent.id,
                mode=self.mode,
                order=record,
                decision=decision,
            )
        if record.status is OrderStatus.UNKNOWN:
            try:
                record = self.reconcile(intent.id)
            except OrderStateUnknownError as exc:
                if failure is not None:
                    raise exc from failure
                raise
            return GatewayResult(
                outcome=SubmitOutcome.ADOPTED,
                intent_id=intent.id,
                mode=self.mode,
                order=record,
                decision=decision,
            )
        return GatewayResult(
            outcome=SubmitOutcome.PLACED,
            intent_id=intent.id,
            mode=self.mode,
            order=record,
            decision=decision,
        )

    def reconcile(self, intent_id: str) -> OrderRecord:
        """Settle a PENDING/UNKNOWN order by asking the broker for our correlation id.

        Found: the broker's order is adopted. Not found `SETTLE_ABSENT_AFTER` after the row was
        written: NOT_SENT ("not placed"). Not found sooner: the row is marked UNKNOWN and
        `OrderStateUnknownError` is raised. Nothing is ever re-sent. A `TransientError` from the
        lookup propagates (the row keeps its state, and the next attempt reconciles again).
        """
        record = self._record(intent_id)
        found = self.broker.order_by_correlation_id(intent_id)
        now = self.clock.now()
        if found is not None:
            return self.journal.update(intent_id, found, now)
        if now - record.created_at >= SETTLE_ABSENT_AFTER:
            minutes = (now - record.created_at).total_seconds() / 60
            return self.journal.update(
                intent_id,
                BrokerOrder.not_sent(
                    record.intent,
                    f"not placed: {self.broker.name} has no order with this correlation id "
                    f"{minutes:.0f} min after it was journalled, so it never arrived; it was "
                    "not re-sent",
                ),
                now,
            )
        if record.status is not OrderStatus.UNKNOWN:
            record = self.journal.update(
                intent_id,
                BrokerOrder.unknown(
                    record.intent,
                    "journalled but not found at the broker after a restart or retry",
                ),
                now,
            )
        raise OrderStateUnknownError(
            f"order {intent_id} ({record.intent.side} {record.intent.quantity} "
            f"{record.intent.symbol}) is UNKNOWN: {self.broker.name} has no order with this "
            f"correlation id and it was NOT re-sent ({record.message or 'no detail'}). Check the "
            "broker's order book; retry later to adopt it if it appears, or mark it with "
            f"`tradeloop orders resolve {intent_id} --not-placed` once you are sure it is absent"
        )

    def refresh(self, intent_id: str) -> OrderRecord:
        """Bring a journalled order up to date with the broker (status, fills)."""
        record = self._record(intent_id)
        if record.status in _UNSETTLED:
            return self.reconcile(intent_id)
        if record.status.is_terminal:
            return record
        found = self.broker.order_by_correlation_id(intent_id)
        return record if found is None else self.journal.update(intent_id, found, self.clock.now())

    def modify_stop(self, intent_id: str, trigger_price: float) -> OrderRecord:
        """Move the stop of an order (a super order's stop leg). Guarded like a create; a stop
        off the instrument's tick is refused before anything is sent."""
        self.mode_guard.require_can_send(self.broker)
        intent = self._record(intent_id).intent
        tick = tick_of(intent, self.contracts)
        if tick is not None and not is_on_tick(trigger_price, tick):
            raise UserError(
                f"stop {trigger_price:g} for order {intent_id} is not on the tick {tick:g} of "
                f"{intent.symbol}: round it first (contract.protective_stop)"
            )
        order_id = self._broker_order_id(intent_id)
        answer = self.broker.modify_stop(order_id, trigger_price)
        return self.journal.update(intent_id, answer, self.clock.now())

    def cancel(self, intent_id: str) -> OrderRecord:
        """Cancel an order (for a filled super order: its remaining legs)."""
        self.mode_guard.require_can_send(self.broker)
        order_id = self._broker_order_id(intent_id)
        answer = self.broker.cancel(order_id)
        return self.journal.update(intent_id, answer, self.clock.now())

    def resolve_not_placed(self, intent_id: str, reason: str) -> OrderRecord:
        """A person's decision that an UNKNOWN order never reached the broker.

        The broker is asked once more first: if it has the order, it is adopted instead.
        """
        record = self._record(intent_id)
        if record.status not in _UNSETTLED:
            raise OperationalError(
                f"order {intent_id} is {record.status}, not UNKNOWN: nothing to resolve"
            )
        found = self.broker.order_by_correlation_id(intent_id)
        if found is not None:
            return self.journal.update(intent_id, found, self.clock.now())
        return self.journal.update(
            intent_id,
            BrokerOrder.not_sent(record.intent, f"resolved by operator as not placed: {reason}"),
            self.clock.now(),
        )

    def _existing(self, record: OrderRecord) -> GatewayResult:
        if record.status in _UNSETTLED:
            settled = self.reconcile(record.intent_id)
            return GatewayResult(
                outcome=SubmitOutcome.ADOPTED
                if settled.broker_order_id
                else SubmitOutcome.EXISTING,
                intent_id=record.intent_id,
                mode=self.mode,
                order=settled,
            )
        return GatewayResult(
            outcome=SubmitOutcome.EXISTING,
            intent_id=record.intent_id,
            mode=self.mode,
            order=record,
        )

    def _place(self, intent: OrderIntent) -> tuple[BrokerOrder, Exception | None]:
        try:
            return self.broker.place(intent), None
        except NotSentError as exc:
            return BrokerOrder.not_sent(intent, f"never sent: {exc}"), exc
        except Exception as exc:
            # Whatever failed, the request may have left: treat it as UNKNOWN and reconcile.
            _log.warning("place of %s raised %s: reconciling", intent.id, type(exc).__name__)
            unknown = BrokerOrder.unknown(
                intent, f"place raised {type(exc).__name__}: outcome unknown"
            )
            return unknown, exc

    def _record(self, intent_id: str) -> OrderRecord:
        record = self.journal.get(intent_id)
        if record is None:
            raise NotFoundError(f"no journalled order for intent {intent_id}: check the id")
        return record

    def _broker_order_id(self, intent_id: str) -> str:
        record = self._record(intent_id)
        if record.status in _UNSETTLED:
            record = self.reconcile(intent_id)  # a fill came before the create's answer
        if record.broker_order_id is None:
            raise OrderStateUnknownError(
                f"order {intent_id} has no broker order id yet ({record.status}): reconcile first"
            )
        return record.broker_order_id
