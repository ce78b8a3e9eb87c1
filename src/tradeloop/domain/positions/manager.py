"""The position manager: follows each position from entry to close, writing before acting.

It is the only component that exits positions. Driven by time (`on_time`), fills and order
updates (`sync`), and bar closes (`on_bar_close`), it

* opens a position: the entry's prices rounded to the instrument's tick (contract.py), PENDING
  written, then the entry intent goes through the gateway;
* moves it to OPEN when the entry fills (the broker's stop and target legs are then live), and
  to REJECTED when the entry is refused, rejected, never sent or settled as not placed;
* on each close ratchets the stop (trailing, break-even) and keeps the broker's stop in line
  with it (stopsync.py): the new stop is written, sent with `modify_stop`, its acknowledgement
  written; an unacknowledged stop is sent again on the next close. A stop tightened by hand
  (`tighten_stop`) takes the same path;
* closes it on a stop or target fill (by the broker's legs), at the square-off time, and when
  the kill switch is on or the day is HALTED (the flatten path): CLOSING is written with the
  exit intent, then the legs are cancelled, then the exit goes out through the gateway
  (closing.py);
* on each of its time passes reconciles what is in doubt: an UNKNOWN entry, and a CLOSING
  position whose exit is unsettled or was not placed (then a new exit intent goes out).

Each step is written before the action it triggers, so after a crash `start()` (reconcile.py)
resumes exactly where the ledger says it was. Time comes from the injected clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, time

from tradeloop.clock import Clock
from tradeloop.domain.execution.contract import on_tick
from tradeloop.domain.execution.fills import BrokerFill
from tradeloop.domain.execution.gateway import OrderGateway, SubmitOutcome
from tradeloop.domain.execution.orders import OrderIntent, ProductType
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.positions.closing import ExitPath
from tradeloop.domain.positions.model import ExitPlan, Position, PositionState
from tradeloop.domain.positions.reconcile import ReconciliationReport, reconcile
from tradeloop.domain.positions.recorder import PositionRecorder
from tradeloop.domain.positions.stops import RoundTripCosts
from tradeloop.domain.positions.stopsync import StopSync
from tradeloop.domain.positions.store import PositionStore
from tradeloop.domain.positions.sync import DEAD_ORDER, FillSync
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
    TransientError,
    UserError,
)

_log = logging.getLogger(__name__)


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
        round_trip: RoundTripCosts | None = None,
    ) -> None:
        """`round_trip`: the charges and slippage a break-even stop covers beyond the entry
        (stops.py); None moves it to the entry plus the plan's buffer only."""
        self.gateway = gateway
        self.store = store
        self.controls = controls
        self.clock = clock
        self.square_off_time = square_off_time
        self.default_plan = default_plan
        self._recorder = PositionRecorder(store)
        self._marks: dict[str, float] = {}
        self._sync = FillSync(gateway, store, self._recorder, clock)
        self._stops = StopSync(gateway, store, self._recorder, clock, round_trip)
        self._exits = ExitPath(gateway, store, self._recorder, self._sync, clock, self.portfolio)

    def start(self, *, strict: bool = True) -> ReconciliationReport:
        """Reconcile the ledger with the broker before trading (see reconcile.py)."""
        return reconcile(self, strict=strict)

    # -- entries ------------------------------------------------------------------------------

    def open(
        self, intent: OrderIntent, plan: ExitPlan | None = None, portfolio: Portfolio | None = None
    ) -> Position:
        """Open a position for an entry intent (idempotent: the intent id is the position id).

        The entry's prices are first rounded to the instrument's tick (`contract.on_tick`): the
        position id is the id of the rounded intent, the same as `intent.id` when it was on
        the tick already.
        """
        if intent.is_exit:
            raise UserError(
                f"intent {intent.id} is an exit: open() takes entries; exits are the manager's"
            )
        intent = on_tick(intent, self.gateway.contracts)
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
        if result.order.status in DEAD_ORDER or position.state is PositionState.UNKNOWN:
            position = self._sync.settle_entry(position)
        if position.state.is_final:
            return position
        self.sync()
        return self.store.position(position.position_id) or position

    def settle_entry(self, position_id: str) -> Position:
        """Move an unfilled PENDING/UNKNOWN entry on to what its journalled order now says
        (e.g. after `tradeloop orders resolve`: REJECTED, so it stops counting as open)."""
        position = self.store.position(position_id)
        if position is None:
            raise UserError(f"no position {position_id}: see `tradeloop positions`")
        return self._sync.settle_entry(position)

    # -- fills and order updates --------------------------------------------------------------

    def sync(self, *, refresh_pending: bool = False) -> list[Position]:
        """Apply new fills and settle entries the broker rejected or cancelled (see sync.py)."""
        return self._sync.sync(refresh_pending=refresh_pending)

    @property
    def unmatched_fills(self) -> dict[str, BrokerFill]:
        """Broker fills that belong to no active position (reconciliation reports them)."""
        return self._sync.unmatched_fills

    # -- stops on a close ---------------------------------------------------------------------

    def on_bar_close(
        self, security_id: str, close: float, trail_offsets: Mapping[str, float] | None = None
    ) -> list[Position]:
        """Ratchet the stops of the positions in `security_id` after a bar closed at `close`,
        and send every stop the broker has not acknowledged (see stopsync.py).

        `trail_offsets`: strategy id → its trailing distance on this bar, for trails that move
        with each bar (an ATR trail); a strategy not in it trails by its plan's distance."""
        self._marks[security_id] = close
        return self._stops.on_bar_close(security_id, close, trail_offsets or {})

    def resend_stop(self, position: Position) -> Position:
        """Send the stop the ledger holds but the broker never acknowledged."""
        return self._stops.send(position)

    def tighten_stop(self, position_id: str, stop: float) -> Position:
        """Tighten an open position's stop by hand (long: higher, short: lower), on the tick
        toward the position and on the protective side of its last mark: the new stop is
        written (`stop_moved`, rule "manual"), then sent as `on_bar_close` sends stops (its
        acknowledgement written, or sent again on the next close). Returns the position as
        updated. A UserError naming the position and why, with nothing written, when it is
        unknown, not OPEN/BREAK_EVEN/TRAILING, or the stop is looser or beyond the mark."""
        position = self.store.position(position_id)
        if position is None:
            raise UserError(f"no position {position_id}: see `tradeloop positions`")
        return self._stops.tighten(position, stop, self._marks.get(position.security_id))

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

    # -- time, kill switch, exits -------------------------------------------------------------

    def on_price(self, security_id: str, ltp: float) -> None:
        """Record the latest price (used to value the portfolio for the risk checks)."""
        self._marks[security_id] = ltp

    def on_time(self, now: datetime | None = None) -> list[Position]:
        """Apply the time rules: kill switch and HALTED flatten everything; square-off closes
        intraday positions; a close interrupted before its exit was sent is finished. First,
        every order of the day still in doubt is reconciled (`settle_orders`)."""
        now = now or self.clock.now()
        self.settle_orders(now)
        if self.controls.kill_switch().engaged:
            return self.flatten_all(ExitReason.KILL_SWITCH)
        day_state = self.gateway.risk.update_trading_state(self.portfolio(now), now)
        if day_state.state is TradingState.HALTED:
            return self.flatten_all(ExitReason.HALTED)
        if to_ist(now).time() < self.square_off_time:
            return self._close_all(None)
        return self._close_all(ExitReason.SQUARE_OFF)

    def settle_orders(
        self, now: datetime | None = None, *, include_open: bool = False
    ) -> dict[str, str]:
        """Ask the broker about every order of the day still PENDING/UNKNOWN in the journal
        (and OPEN/PART_FILLED with `include_open`, as the restart does), whatever became of its
        position: a fill can close a position before the create's answer was settled. The
        ones still in doubt, with why."""
        day = to_ist(now or self.clock.now()).date()
        in_doubt: dict[str, str] = {}
        for record in self.gateway.journal.orders(day):
            if record.status.is_terminal or not (include_open or record.status.is_unsettled):
                continue
            try:
                self.gateway.refresh(record.intent_id)
            except (OrderStateUnknownError, TransientError) as exc:
                in_doubt[record.intent_id] = str(exc)
        return in_doubt

    def flatten_all(self, reason: ExitReason = ExitReason.KILL_SWITCH) -> list[Position]:
        """The kill-switch path: close every active position now."""
        return self._close_all(reason)

    def _close_all(self, reason: ExitReason | None) -> list[Position]:
        """One pass over the active positions; a position that needs a person does not stop
        the others (its `ReconciliationError` is raised after the pass)."""
        closed: list[Position] = []
        stuck: list[str] = []
        for position in self.store.positions(active_only=True):
            try:
                position = self._reconcile_entry(position)
                if position.state is PositionState.UNKNOWN or position.state.is_final:
                    continue  # only the broker's answer decides what an unknown entry holds
                if position.state is PositionState.CLOSING:
                    if self._exits.needs_work(position):
                        closed.append(self.resume_close(position))
                    continue
                intraday = position.entry_intent.product is ProductType.INTRADAY
                if reason is None or (reason is ExitReason.SQUARE_OFF and not intraday):
                    continue
                closed.append(self.close(position.position_id, reason))
            except (OrderStateUnknownError, TransientError) as exc:
                # In doubt or unreachable: nothing was sent twice; the next pass tries again.
                _log.warning("position %s: %s", position.position_id, exc)
            except ReconciliationError as exc:
                stuck.append(str(exc))
        if stuck:
            raise ReconciliationError("; ".join(stuck))
        return closed

    def _reconcile_entry(self, position: Position) -> Position:
        """An unfilled entry whose order is unsettled (PENDING/UNKNOWN in the journal): ask the
        broker (found → adopted; absent long enough → not placed), then settle the position."""
        if position.state not in (PositionState.PENDING, PositionState.UNKNOWN):
            return position
        record = self.gateway.journal.get(position.position_id)
        if record is not None and record.status.is_unsettled:
            try:
                self.gateway.refresh(position.position_id)
            except OrderStateUnknownError as exc:
                return self.mark_unknown(position, str(exc))
        return self._sync.settle_entry(position)

    def close(self, position_id: str, reason: ExitReason) -> Position:
        """Close one position: CLOSING written, legs cancelled, exit sent (see closing.py)."""
        return self._exits.close(position_id, reason)

    def resume_close(self, position: Position) -> Position:
        """Finish a CLOSING position; safe to repeat (a restart calls it again)."""
        return self._exits.resume_close(position)

    def allow_exit_retry(self, position_id: str, reason: str) -> Position:
        """A person's go-ahead for new exits after the broker refused `MAX_EXIT_REFUSALS`."""
        return self._exits.allow_exit_retry(position_id, reason)

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
                    position_id=position.position_id,
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
