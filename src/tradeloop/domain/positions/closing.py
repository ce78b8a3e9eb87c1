"""Closing a position: the exit path of the position manager, safe to repeat at any point.

`close` writes CLOSING with the exit intent (a market order for what is held), then
`resume_close` cancels the entry (an unfilled entry, or a filled super order's legs), checks
that the broker holds what the ledger says (so an exit never opens a reverse position), sends
the exit through the gateway's flatten path and applies its fill. A restart or the next time
pass calls `resume_close` again: the same exit intent, so never a second exit order.

An exit in doubt is reconciled first (found → adopted; absent for `SETTLE_ABSENT_AFTER` → not
placed). An exit that is dead (refused, cancelled, expired, never sent) is replaced by a new
exit intent, the next `sequence`, written before it is sent. After `MAX_EXIT_REFUSALS` refusals
by the broker a person must look (`tradeloop positions retry-exit` once the cause is fixed); an
exit that never reached the broker does not count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tradeloop.clock import Clock
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.orders import OrderStatus
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.exits import exit_intent
from tradeloop.domain.positions.model import Position, PositionState
from tradeloop.domain.positions.recorder import PositionRecorder
from tradeloop.domain.positions.store import PositionStore
from tradeloop.domain.positions.sync import DEAD_ORDER, FillSync
from tradeloop.domain.risk.state import Portfolio
from tradeloop.errors import OrderStateUnknownError, ReconciliationError, UserError

MAX_EXIT_REFUSALS = 3
"""Exit orders the broker may refuse before a person must look. An exit that never reached the
broker (NOT_SENT: it failed before sending, or never arrived) does not count: the next one goes
out once the broker has confirmed it does not hold the last."""


class ExitPath:
    def __init__(
        self,
        gateway: OrderGateway,
        store: PositionStore,
        recorder: PositionRecorder,
        fills: FillSync,
        clock: Clock,
        portfolio: Callable[[datetime], Portfolio],
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.recorder = recorder
        self.fills = fills
        self.clock = clock
        self.portfolio = portfolio

    def needs_work(self, position: Position) -> bool:
        """A CLOSING position whose exit is not journalled, in doubt, or dead."""
        assert position.exit_intent is not None
        record = self.gateway.journal.get(position.exit_intent.id)
        return record is None or record.status.is_unsettled or record.status in DEAD_ORDER

    def close(self, position_id: str, reason: ExitReason) -> Position:
        """Close one position: CLOSING written, legs cancelled, exit sent (flatten path)."""
        position = self.store.position(position_id)
        if position is None:
            raise UserError(f"no position {position_id}: see `tradeloop positions`")
        if position.state.is_final:
            return position
        if position.state is PositionState.UNKNOWN:
            raise OrderStateUnknownError(
                f"position {position_id}: its entry's outcome is unknown; reconcile it "
                "(restart, or `tradeloop orders resolve`) before closing it"
            )
        now = self.clock.now()
        if position.state is not PositionState.CLOSING:
            position = self.recorder.write(
                position.model_copy(
                    update={
                        "state": PositionState.CLOSING,
                        "exit_reason": reason,
                        "exit_intent": exit_intent(position, reason, now),
                    }
                ),
                "closing",
                now,
                from_state=position.state,
                detail={"reason": reason.value},
            )
        return self.resume_close(position)

    def resume_close(self, position: Position) -> Position:
        """Finish a CLOSING position; safe to repeat (a restart calls it again)."""
        now = self.clock.now()
        assert position.exit_intent is not None
        exit_order = self.gateway.journal.get(position.exit_intent.id)
        if exit_order is not None and exit_order.status.is_unsettled:
            # Found → adopted; absent long enough → not placed (retried below); else in doubt:
            # OrderStateUnknownError, and no second exit goes out.
            exit_order = self.gateway.refresh(position.exit_intent.id)
        if exit_order is not None and exit_order.status in DEAD_ORDER:
            position = self._retry_exit(position, exit_order.status, exit_order.message)
            exit_order = None
        if exit_order is None:
            self._cancel_entry(position)
            self.fills.sync()
            position = self.store.position(position.position_id) or position
            if position.state.is_final:
                return position
            if position.filled_quantity == 0:
                return self.recorder.transition(
                    position, PositionState.CLOSED, "cancelled_unfilled", now, "no units held"
                )
            self._check_broker_holds(position)
            position = self._resize_exit(position, now)
        assert position.exit_intent is not None
        self.gateway.submit(position.exit_intent, self.portfolio(now), flatten=True)
        self.fills.sync()
        return self.store.position(position.position_id) or position

    def _cancel_entry(self, position: Position) -> None:
        """Cancel an unfilled entry, or the resting legs (stop, and target if any) of a filled
        one."""
        entry = self.gateway.journal.get(position.position_id)
        if entry is not None and entry.status.is_unsettled:
            entry = self.gateway.refresh(position.position_id)  # never cancel what may be live
        if entry is None or entry.broker_order_id is None:
            return
        has_legs = position.entry_intent.stop_loss is not None
        if not entry.status.is_terminal or (entry.status is OrderStatus.FILLED and has_legs):
            self.gateway.cancel(position.position_id)

    def _resize_exit(self, position: Position, now: datetime) -> Position:
        assert position.exit_intent is not None
        if position.exit_intent.quantity == position.open_quantity:
            return position
        resized = position.exit_intent.model_copy(update={"quantity": position.open_quantity})
        return self.recorder.write(
            position.model_copy(update={"exit_intent": resized}),
            "exit_resized",
            now,
            from_state=position.state,
            detail={"quantity": position.open_quantity},
        )

    def _retry_exit(self, position: Position, status: OrderStatus, why: str) -> Position:
        """The exit is dead (refused, cancelled, never sent): a new exit intent (the next
        attempt), written first."""
        assert position.exit_intent is not None and position.exit_reason is not None
        refusals = position.exit_refusals + (status is not OrderStatus.NOT_SENT)
        if refusals >= MAX_EXIT_REFUSALS:
            raise ReconciliationError(
                f"position {position.position_id}: {MAX_EXIT_REFUSALS} exit orders were refused "
                f"by {self.gateway.broker.name} (last: {why}). Fix the cause, then run "
                f"`tradeloop positions retry-exit {position.position_id} --reason ...`"
            )
        attempt = position.exit_intent.sequence + 1
        now = self.clock.now()
        replacement = exit_intent(position, position.exit_reason, now, attempt)
        return self.recorder.write(
            position.model_copy(update={"exit_intent": replacement, "exit_refusals": refusals}),
            "exit_retried",
            now,
            from_state=position.state,
            detail={"attempt": attempt, "status": status.value, "refused": why},
        )

    def allow_exit_retry(self, position_id: str, reason: str) -> Position:
        """A person's go-ahead after the broker refused a CLOSING position's exits
        `MAX_EXIT_REFUSALS` times (the cause fixed, e.g. margin added): the count starts again,
        and the next time pass or restart sends a new exit intent."""
        position = self.store.position(position_id)
        if position is None:
            raise UserError(f"no position {position_id}: see `tradeloop positions`")
        if position.state is not PositionState.CLOSING:
            raise UserError(
                f"position {position_id} is {position.state.value}, not CLOSING: there is no "
                "exit to retry"
            )
        return self.recorder.write(
            position.model_copy(update={"exit_refusals": 0}),
            "exit_retry_allowed",
            self.clock.now(),
            from_state=position.state,
            detail={"reason": reason, "refusals": position.exit_refusals},
        )

    def _check_broker_holds(self, position: Position) -> None:
        ours = sum(
            p.net_quantity
            for p in self.store.positions(active_only=True)
            if p.security_id == position.security_id
        )
        theirs = sum(
            p.net_quantity
            for p in self.gateway.broker.positions()
            if p.security_id == position.security_id
        )
        if ours != theirs:
            raise ReconciliationError(
                f"cannot exit position {position.position_id}: the ledger holds {ours:+d} units "
                f"of {position.security_id} but {self.gateway.broker.name} holds {theirs:+d}; "
                "an exit could open a reverse position. Check the broker, then reconcile"
            )
