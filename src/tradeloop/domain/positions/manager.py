"""The position manager: follows each position from entry to close, writing before acting.

It is the only component that exits positions. Driven by time (`on_time`), fills and order
updates (`sync`), and bar closes (`on_bar_close`), it

* opens a position: PENDING written, then the entry intent goes through the gateway;
* moves it to OPEN when the entry fills (the broker's stop and target legs are then live);
* on each close ratchets the stop (trailing, break-even) — the new stop is written to the
  ledger, then sent with `modify_stop`, then its acknowledgement written;
* closes it on a stop or target fill (by the broker's legs), at the square-off time, and when
  the kill switch is on or the day is HALTED (the flatten path): CLOSING is written with the
  exit intent, then the legs are cancelled, then the exit goes out through the gateway.

Each step is written before the action it triggers, so after a crash `start()` (reconcile.py)
resumes exactly where the ledger says it was. Time comes from the injected clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time

from tradeloop.clock import Clock
from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.domain.execution.gateway import OrderGateway, SubmitOutcome
from tradeloop.domain.execution.orders import OrderIntent, OrderStatus, ProductType
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.positions.exits import exit_intent
from tradeloop.domain.positions.model import ExitPlan, Position, PositionState
from tradeloop.domain.positions.reconcile import ReconciliationReport, reconcile
from tradeloop.domain.positions.recorder import PositionRecorder
from tradeloop.domain.positions.stops import stop_after_close
from tradeloop.domain.positions.store import PositionStore
from tradeloop.domain.positions.sync import FillSync
from tradeloop.domain.risk.state import (
    Portfolio,
    PositionExposure,
    TradingControlStore,
    TradingState,
)
from tradeloop.errors import (
    OrderStateUnknownError,
    ReconciliationError,
    TradingRefusedError,
    UserError,
)

_DEAD_ORDER = (OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)
MAX_EXIT_ATTEMPTS = 3


class PositionManager:
    """Opens, manages and closes positions through one gateway, recording every step."""

    def __init__(
        self,
        gateway: OrderGateway,
        store: PositionStore,
        controls: TradingControlStore,
        clock: Clock,
        *,
        square_off_time: time,
        default_plan: ExitPlan,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.controls = controls
        self.clock = clock
        self.square_off_time = square_off_time
        self.default_plan = default_plan
        self._recorder = PositionRecorder(store)
        self._marks: dict[str, float] = {}
        self._sync = FillSync(gateway, store, self._recorder, clock)

    def start(self, *, strict: bool = True) -> ReconciliationReport:
        """Reconcile the ledger with the broker before trading (see reconcile.py)."""
        return reconcile(self, strict=strict)

    # -- entries ------------------------------------------------------------------------------

    def open(
        self, intent: OrderIntent, plan: ExitPlan | None = None, portfolio: Portfolio | None = None
    ) -> Position:
        """Open a position for an entry intent (idempotent: the intent id is the position id)."""
        if intent.is_exit:
            raise UserError(
                f"intent {intent.id} is an exit: open() takes entries; exits are the manager's"
            )
        now = self.clock.now()
        position = self.store.position(intent.id)
        if position is None:
            position = self._recorder.write(
                Position(
                    position_id=intent.id,
                    strategy_id=intent.strategy_id,
                    symbol=intent.symbol,
                    security_id=intent.security_id,
                    trading_day=intent.trading_day,
                    direction=intent.side.sign,
                    quantity=intent.quantity,
                    entry_intent=intent,
                    plan=plan or self.default_plan,
                    initial_stop=intent.stop_loss,
                    stop=intent.stop_loss,
                    broker_stop=intent.stop_loss,
                    target=intent.target,
                    updated_at=now,
                ),
                "created",
                now,
                from_state=None,
            )
        if position.state not in (PositionState.PENDING, PositionState.UNKNOWN):
            return position
        return self._submit_entry(position, portfolio or self.portfolio(now))

    def _submit_entry(self, position: Position, portfolio: Portfolio) -> Position:
        now = self.clock.now()
        try:
            result = self.gateway.submit(position.entry_intent, portfolio)
        except OrderStateUnknownError as exc:
            self._recorder.transition(
                position, PositionState.UNKNOWN, "entry_unknown", now, str(exc)
            )
            raise
        except TradingRefusedError as exc:
            self._recorder.transition(
                position, PositionState.REJECTED, "entry_refused", now, str(exc)
            )
            raise
        if result.outcome is SubmitOutcome.REFUSED:
            return self._recorder.transition(
                position, PositionState.REJECTED, "entry_refused", now, "; ".join(result.reasons)
            )
        assert result.order is not None
        if result.order.status is OrderStatus.REJECTED:
            return self._recorder.transition(
                position, PositionState.REJECTED, "entry_rejected", now, result.order.message
            )
        if position.state is PositionState.UNKNOWN:
            position = self._recorder.transition(
                position, PositionState.PENDING, "entry_adopted", now
            )
        self.sync()
        return self.store.position(position.position_id) or position

    # -- fills and order updates --------------------------------------------------------------

    def sync(self, *, refresh_pending: bool = False) -> list[Position]:
        """Apply new fills and settle entries the broker rejected or cancelled (see sync.py)."""
        return self._sync.sync(refresh_pending=refresh_pending)

    @property
    def unmatched_fills(self) -> dict[str, BrokerFill]:
        """Broker fills that belong to no active position (reconciliation reports them)."""
        return self._sync.unmatched_fills

    # -- stops on a close ---------------------------------------------------------------------

    def on_bar_close(self, security_id: str, close: float) -> list[Position]:
        """Ratchet the stops of the positions in `security_id` after a bar closed at `close`."""
        self._marks[security_id] = close
        moved: list[Position] = []
        for position in self.store.positions(active_only=True):
            if position.security_id != security_id or position.state not in (
                PositionState.OPEN,
                PositionState.BREAK_EVEN,
                PositionState.TRAILING,
            ):
                continue
            assert position.entry_price is not None and position.stop is not None
            assert position.initial_stop is not None
            move = stop_after_close(
                position.state,
                position.direction,
                close,
                position.entry_price,
                position.initial_stop,
                position.stop,
                position.plan,
            )
            if move is not None:
                moved.append(self._move_stop(position, move.stop, move.state, move.rule))
        return moved

    def _move_stop(
        self, position: Position, stop: float, state: PositionState, rule: str
    ) -> Position:
        now = self.clock.now()
        wanted = self._recorder.write(
            position.model_copy(update={"stop": stop, "state": state}),
            "stop_moved",
            now,
            from_state=position.state,
            detail={"from": position.stop, "to": stop, "rule": rule},
        )
        return self._send_stop(wanted)

    def resend_stop(self, position: Position) -> Position:
        """Send the stop the ledger holds but the broker never acknowledged."""
        return self._send_stop(position)

    def reject_unsent(self, position: Position) -> Position:
        return self._recorder.transition(
            position,
            PositionState.REJECTED,
            "entry_not_sent",
            self.clock.now(),
            "the entry was never sent before a restart; not sent late",
        )

    def mark_unknown(self, position: Position, why: str) -> Position:
        if position.state is PositionState.UNKNOWN:
            return position
        return self._recorder.transition(
            position, PositionState.UNKNOWN, "entry_unknown", self.clock.now(), why
        )

    def _send_stop(self, position: Position) -> Position:
        assert position.stop is not None
        self.gateway.modify_stop(position.position_id, position.stop)
        return self._recorder.write(
            position.model_copy(update={"broker_stop": position.stop}),
            "stop_acknowledged",
            self.clock.now(),
            from_state=position.state,
            detail={"stop": position.stop},
        )

    # -- time, kill switch, exits -------------------------------------------------------------

    def on_price(self, security_id: str, ltp: float) -> None:
        """Record the latest price (used to value the portfolio for the risk checks)."""
        self._marks[security_id] = ltp

    def on_time(self, now: datetime | None = None) -> list[Position]:
        """Apply the time rules: kill switch and HALTED flatten everything; square-off closes
        intraday positions; a close interrupted before its exit was sent is finished."""
        now = now or self.clock.now()
        if self.controls.kill_switch().engaged:
            return self.flatten_all(ExitReason.KILL_SWITCH)
        day_state = self.gateway.risk.update_trading_state(self.portfolio(now), now)
        if day_state.state is TradingState.HALTED:
            return self.flatten_all(ExitReason.HALTED)
        if to_ist(now).time() < self.square_off_time:
            return self._close_all(None)
        return self._close_all(ExitReason.SQUARE_OFF)

    def flatten_all(self, reason: ExitReason = ExitReason.KILL_SWITCH) -> list[Position]:
        """The kill-switch path: close every active position now."""
        return self._close_all(reason)

    def _close_all(self, reason: ExitReason | None) -> list[Position]:
        closed: list[Position] = []
        for position in self.store.positions(active_only=True):
            if position.state is PositionState.UNKNOWN:
                continue  # only reconciliation may decide what an unknown entry holds
            if position.state is PositionState.CLOSING:
                assert position.exit_intent is not None
                if self.gateway.journal.get(position.exit_intent.id) is None:
                    closed.append(self.resume_close(position))
                continue
            intraday = position.entry_intent.product is ProductType.INTRADAY
            if reason is None or (reason is ExitReason.SQUARE_OFF and not intraday):
                continue
            closed.append(self.close(position.position_id, reason))
        return closed

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
            position = self._recorder.write(
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
        if exit_order is not None and exit_order.status in _DEAD_ORDER:
            position = self._retry_exit(position, exit_order.message)
            exit_order = None
        if exit_order is None:
            self._cancel_entry(position)
            self.sync()
            position = self.store.position(position.position_id) or position
            if position.state.is_final:
                return position
            if position.filled_quantity == 0:
                return self._recorder.transition(
                    position, PositionState.CLOSED, "cancelled_unfilled", now, "no units held"
                )
            self._check_broker_holds(position)
            position = self._resize_exit(position, now)
        assert position.exit_intent is not None
        self.gateway.submit(position.exit_intent, self.portfolio(now), flatten=True)
        self.sync()
        return self.store.position(position.position_id) or position

    def _cancel_entry(self, position: Position) -> None:
        """Cancel an unfilled entry, or the stop and target legs of a filled super order."""
        entry = self.gateway.journal.get(position.position_id)
        if entry is None or entry.broker_order_id is None:
            return
        has_legs = position.entry_intent.stop_loss is not None and position.target is not None
        if not entry.status.is_terminal or (entry.status is OrderStatus.FILLED and has_legs):
            self.gateway.cancel(position.position_id)

    def _resize_exit(self, position: Position, now: datetime) -> Position:
        assert position.exit_intent is not None
        if position.exit_intent.quantity == position.open_quantity:
            return position
        resized = position.exit_intent.model_copy(update={"quantity": position.open_quantity})
        return self._recorder.write(
            position.model_copy(update={"exit_intent": resized}),
            "exit_resized",
            now,
            from_state=position.state,
            detail={"quantity": position.open_quantity},
        )

    def _retry_exit(self, position: Position, why: str) -> Position:
        """The broker refused the exit: a new exit intent (next attempt), written first."""
        assert position.exit_intent is not None and position.exit_reason is not None
        attempt = position.exit_intent.sequence + 1
        if attempt > MAX_EXIT_ATTEMPTS:
            raise ReconciliationError(
                f"position {position.position_id}: {MAX_EXIT_ATTEMPTS} exit orders were refused "
                f"by {self.gateway.broker.name} (last: {why}); close it at the broker by hand"
            )
        now = self.clock.now()
        replacement = exit_intent(position, position.exit_reason, now, attempt)
        return self._recorder.write(
            position.model_copy(update={"exit_intent": replacement}),
            "exit_retried",
            now,
            from_state=position.state,
            detail={"attempt": attempt, "refused": why},
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

    # -- views --------------------------------------------------------------------------------

    def portfolio(
        self, now: datetime | None = None, marks: Mapping[str, float] | None = None
    ) -> Portfolio:
        """Open and pending positions and today's P&L (realised + marked), for risk checks."""
        now = now or self.clock.now()
        marks = marks if marks is not None else self._marks
        day = to_ist(now).date()
        exposures = []
        unrealized = 0.0
        for position in self.store.positions(active_only=True):
            pending = position.state in (PositionState.PENDING, PositionState.UNKNOWN)
            exposures.append(
                PositionExposure(
                    security_id=position.security_id,
                    net_quantity=position.net_quantity,
                    average_price=position.entry_price or 0.0,
                    pending=pending,
                )
            )
            mark = marks.get(position.security_id)
            if position.entry_price is not None and mark is not None:
                unrealized += position.net_quantity * (mark - position.entry_price)
                unrealized -= position.entry_costs
        realized = sum(trade.net_pnl for trade in self.store.trades(day))
        return Portfolio(positions=tuple(exposures), day_pnl=realized + unrealized)
