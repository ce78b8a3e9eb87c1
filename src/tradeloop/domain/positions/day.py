"""A trading day of deployed strategies: minute bars in, decisions, sized entries, managed exits.

`TradingDay.on_minute` takes each closed 1m bar of an index, in time order (from the replay or
the live feed), and runs, in the backtester's order (`replay.PaperReplay`):

1. at the bar's open, the position manager's time rules (square-off, kill switch, HALTED);
2. on a paper broker, the bar matched as ticks (open, the worse extreme, the other, close), and
   the fills applied;
3. at the close, the stops ratcheted (effective from the next bar);
4. each strategy on that index decides on the close (`SessionSignals`: the backtest's compiler
   on the warm-up and today's minutes); an entry of a strategy without an open position is sized
   by the risk manager on the decision's close and stop (whole lots of the contract, the
   `[risk]` budget) and opened through the position manager, which writes it and sends it
   through the gateway (the risk check, then the broker). A refusal is kept with its reason.

The strategy's own id on every intent is its deployment id, so positions, orders and trades in
the ledger name the deployment that made them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import polars as pl

from tradeloop.clock import ManualClock
from tradeloop.domain.execution.orders import OrderIntent, Side
from tradeloop.domain.execution.paper import PaperBroker
from tradeloop.domain.exits import ExitReason
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan, PositionState
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.domain.strategy.session_signals import Decision, SessionSignals, completes_bar
from tradeloop.errors import TradingRefusedError


@dataclass(frozen=True, slots=True)
class Contract:
    """What a strategy's orders trade: the broker's names and the contract's lot and tick."""

    symbol: str
    """Trading symbol, e.g. NIFTY-FUT (the index's future proxy in paper)."""
    security_id: str
    lot_size: int
    tick_size: float


@dataclass
class Strategy:
    """One deployed strategy in the day: its id (the deployment's), decisions and contract."""

    strategy_id: str
    name: str
    underlying: str
    signals: SessionSignals
    contract: Contract


@dataclass(frozen=True, slots=True)
class Refusal:
    """An entry decided but not opened, and why (the risk manager's reasons, or sizing's)."""

    strategy_id: str
    at: datetime
    reason: str


@dataclass
class DayLog:
    """What happened: the decisions, the entries opened and the refusals."""

    decisions: list[tuple[str, Decision]] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    """Position ids of the entries sent."""
    refusals: list[Refusal] = field(default_factory=list)


class SessionProgress(Protocol):
    """Where a day's processing got to: the close time of the last bar fully processed."""

    def last_bar(self, day: date, session_key: str) -> datetime | None: ...

    def record(self, day: date, session_key: str, last_bar: datetime) -> None: ...


class TradingDay:
    """Feeds minutes to the position manager and the strategies (module docstring).

    With a `progress` store, each bar's processing is recorded once every step of it is
    written, and a day started again (after a crash, a kill) takes the minutes up to the last
    recorded bar as already traded: they rebuild each strategy's day (no decision, no match)
    and trading resumes with the next bar. The position manager reconciles the ledger with the
    broker before the first minute (`start`).
    """

    def __init__(
        self,
        day: date,
        strategies: Sequence[Strategy],
        manager: PositionManager,
        risk: RiskManager,
        clock: ManualClock,
        broker: PaperBroker | None,
        progress: SessionProgress | None = None,
    ) -> None:
        """`broker`: the paper broker to match each bar on; None when a real broker fills."""
        self.day = day
        self.progress = progress
        self.session_key = session_key(strategies)
        self.resumed_after = None if progress is None else progress.last_bar(day, self.session_key)
        self.strategies = list(strategies)
        self.manager = manager
        self.risk = risk
        self.clock = clock
        self.broker = broker
        self.log = DayLog()
        self._sequence = 0
        self._bars = _matching_bars(self.strategies)
        self._max_bars: dict[str, int] = {}
        """Position id → the spec's max bars held (0: none)."""
        self._held: dict[str, int] = {}
        """Position id → bars of the matching timeframe closed while it was open."""
        self.after_bar: list[Callable[[datetime], None]] = []
        """Called with the close time once a minute that closed a bar is fully processed
        (its stops, fills and entries), e.g. for an agent's turn; not while catching up."""

    def on_minute(self, underlying: str, minute: pl.DataFrame) -> None:
        """One closed 1m bar of the index `underlying` (a one-row candle frame)."""
        row = minute.row(0, named=True)
        if self.resumed_after is not None and row["ts"] < self.resumed_after:
            self._catch_up(underlying, row, minute)
            return
        # A strategy holding a position reads the minute first: the bar's close moves its
        # trailing stop by that bar's distance (an ATR trail), which its compilation gives.
        # The others read it after the bar is processed, which keeps the path from a bar to an
        # entry order short. Entries come after the bar, as in the backtest.
        mine = [s for s in self.strategies if s.underlying == underlying]
        # Only a minute that completes a strategy's bar gives it a new distance: the ledger is
        # read for those minutes alone.
        closing = [s for s in mine if completes_bar(row["ts"], s.signals.minutes)]
        active = self.manager.store.positions(self.day, active_only=True) if closing else []
        holding = {position.strategy_id for position in active}
        read = {
            strategy.strategy_id: strategy.signals.on_minute(minute)
            for strategy in closing
            if strategy.strategy_id in holding
        }
        last_close: datetime | None = None
        for security, bars in self._bars.items():
            if bars.underlying == underlying:
                closed = bars.add(row)
                if closed is not None:
                    self._on_bar(security, closed)
                    last_close = closed.close_time
                    if self.progress is not None:
                        self.progress.record(self.day, self.session_key, closed.close_time)
        for strategy in mine:
            if strategy.strategy_id in read:
                decision = read[strategy.strategy_id]
            else:
                decision = strategy.signals.on_minute(minute)
            if decision is not None:
                self.log.decisions.append((strategy.strategy_id, decision))
                self._enter(strategy, decision)
        if last_close is not None:
            for observer in self.after_bar:
                observer(last_close)

    def _catch_up(self, underlying: str, row: dict[str, Any], minute: pl.DataFrame) -> None:
        """A minute traded before a restart: it rebuilds the bars and the strategies' day."""
        for bars in self._bars.values():
            if bars.underlying == underlying:
                bars.add(row)
        for strategy in self.strategies:
            if strategy.underlying == underlying:
                strategy.signals.catch_up(minute)

    def _on_bar(self, security: str, bar: _Bar) -> None:
        """One bar of the matching timeframe, in the backtester's order: the time rules and
        the max-bars exits at its open, the match, the stops ratcheted at its close."""
        self.clock.set(bar.ts)
        self.manager.on_time(bar.ts)
        for position in self.manager.store.positions(self.day, active_only=True):
            limit = self._max_bars.get(position.position_id, 0)
            held = self._held.get(position.position_id, 0)
            due = position.security_id == security and limit and held >= limit
            if due and position.state is PositionState.OPEN:
                self.manager.close(position.position_id, ExitReason.MAX_BARS)
        if self.broker is not None:
            self.broker.on_bar(security, bar.open, bar.high, bar.low, bar.close, bar.ts)
        self.manager.sync()
        self.clock.set(bar.close_time)
        trails = {
            s.strategy_id: s.signals.trail_offset
            for s in self.strategies
            if s.signals.trail_offset is not None
        }
        self.manager.on_bar_close(security, bar.close, trails)
        for position in self.manager.store.positions(self.day, active_only=True):
            if position.security_id == security and position.state is PositionState.OPEN:
                self._held[position.position_id] = self._held.get(position.position_id, 0) + 1

    def _enter(self, strategy: Strategy, decision: Decision) -> None:
        now = self.clock.now()
        active = [
            p
            for p in self.manager.store.positions(self.day, active_only=True)
            if p.strategy_id == strategy.strategy_id
        ]
        if active:
            return  # one position at a time per strategy, as in the backtest
        contract = strategy.contract
        sizing = self.risk.size(
            self.risk.limits.capital, decision.reference, decision.stop, contract.lot_size
        )
        if not sizing.approved:
            self.log.refusals.append(Refusal(strategy.strategy_id, now, sizing.reason))
            return
        self._sequence += 1
        intent = entry_intent(
            decision,
            contract,
            sizing.quantity,
            strategy_id=strategy.strategy_id,
            day=self.day,
            sequence=self._sequence,
            reason=f"{strategy.name}: entry decided on the {decision.bar_ts:%H:%M} UTC bar",
        )
        plan = exit_plan(decision)
        try:
            position = self.manager.open(intent, plan)
        except TradingRefusedError as exc:
            self.log.refusals.append(Refusal(strategy.strategy_id, now, str(exc)))
            return
        if position.state is PositionState.REJECTED:
            self.log.refusals.append(Refusal(strategy.strategy_id, now, position.message))
            return
        self._max_bars[position.position_id] = decision.max_bars_held
        self.log.opened.append(position.position_id)


def entry_intent(
    decision: Decision,
    contract: Contract,
    quantity: int,
    *,
    strategy_id: str,
    day: date,
    sequence: int,
    reason: str,
) -> OrderIntent:
    """The entry order of `decision` on `contract`: the side of its view, `quantity` units (the
    risk manager's sizing), its stop and target, and its close as the reference price."""
    return OrderIntent(
        strategy_id=strategy_id,
        symbol=contract.symbol,
        security_id=contract.security_id,
        side=Side.BUY if decision.direction > 0 else Side.SELL,
        quantity=quantity,
        lot_size=contract.lot_size,
        tick_size=contract.tick_size,
        stop_loss=decision.stop,
        target=decision.target,
        reference_price=decision.reference,
        reason=reason,
        trading_day=day,
        sequence=sequence,
    )


def exit_plan(decision: Decision) -> ExitPlan:
    """How the position manager moves the stop of `decision`'s position."""
    return ExitPlan(
        trail_offset=decision.trail_offset,
        trail_fraction=decision.trail_fraction,
        break_even_r=decision.break_even_r,
    )


@dataclass
class _Bar:
    """A bar of the matching timeframe being built from minutes."""

    ts: datetime
    open: float
    high: float
    low: float
    close: float
    close_time: datetime


class _MatchingBars:
    """Minutes of one index into bars of `minutes` length, as `resample` labels them: a bar is
    handed on when the minute that completes it closes."""

    def __init__(self, underlying: str, minutes: int) -> None:
        self.underlying = underlying
        self.minutes = minutes
        self._building: _Bar | None = None

    def add(self, row: dict[str, Any]) -> _Bar | None:
        opened: datetime = row["ts"]
        bar = self._building
        if bar is None:
            bar = _Bar(opened, row["open"], row["high"], row["low"], row["close"], opened)
        else:
            bar.high, bar.low = max(bar.high, row["high"]), min(bar.low, row["low"])
            bar.close = row["close"]
        bar.close_time = opened + timedelta(minutes=1)
        self._building = bar
        if not completes_bar(opened, self.minutes):
            return None
        self._building = None
        return bar


def session_key(strategies: Sequence[Strategy]) -> str:
    """The day's progress is kept per set of strategies (a digest of their ids)."""
    ids = ",".join(sorted(strategy.strategy_id for strategy in strategies))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


def _matching_bars(strategies: Sequence[Strategy]) -> dict[str, _MatchingBars]:
    """Per security, bars of the finest timeframe among the strategies that trade it: paper
    matches and ratchets on the bars the backtest of that timeframe reads."""
    finest: dict[str, tuple[str, int]] = {}
    for strategy in strategies:
        security = strategy.contract.security_id
        minutes = strategy.signals.minutes
        if security not in finest or minutes < finest[security][1]:
            finest[security] = (strategy.underlying, minutes)
    return {
        security: _MatchingBars(underlying, minutes)
        for security, (underlying, minutes) in sorted(finest.items())
    }
