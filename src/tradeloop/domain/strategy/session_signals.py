"""A spec's decision on each bar close of a trading day: the one compiler, on warm-up + today.

A trading session (paper or live) calls `SessionSignals.on_minute` after each 1m bar closes.
When that minute completes a bar of the spec's timeframe, the spec is compiled on the stored
warm-up minutes and today's minutes so far, resampled to its timeframe, with `compile_spec`,
and the decision is read on the last bar. It is what the backtest computes on that bar over the
same candles: every value at bar t depends on bars <= t only (DESIGN invariant 4), so the last
bar of a frame cut at t decides as bar t of the whole frame does. There is no second signal
implementation; a test checks the equality bar by bar.

A `Decision` carries the levels as the order path sends them: measured from the decision bar's
close (the last traded price when the order goes out), where the backtest measures them from
the fill at the next open (docs/backtesting.md). The two agree when the next bar opens at that
close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.candles import INTERVAL_MINUTES
from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.session import MINUTES, OPEN_MINUTE
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.signals import Signals
from tradeloop.domain.strategy.spec import StrategySpec
from tradeloop.errors import DataValidationError, SpecError


@dataclass(frozen=True, slots=True)
class Decision:
    """An entry decided on the close of the spec's bar that opened at `bar_ts`."""

    spec_id: str
    bar_ts: datetime
    """The decision bar's open time (UTC); it closed at `decided_at`."""
    decided_at: datetime
    direction: int
    reference: float
    """The decision bar's close: the price the levels are measured from."""
    stop: float
    target: float | None
    """None: no take profit."""
    risk: float
    """Per unit, `reference` to `stop`."""
    trail_offset: float
    """The trailing stop's absolute distance at this bar (0: none or percent only)."""
    trail_fraction: float
    break_even_r: float | None
    max_bars_held: int
    square_off_minute: int
    """IST minute of day at which the position is closed; -1 = held overnight."""


class SessionSignals:
    """The decisions of one spec during one session (module docstring)."""

    def __init__(self, spec: StrategySpec, warmup: pl.DataFrame) -> None:
        """`warmup`: the spec symbol's stored 1m candles before the session (enough sessions
        for its slowest indicator to be ready, or it never signals early in the day)."""
        if spec.timeframe == "1d":
            raise SpecError(
                f"spec {spec.name!r} trades daily bars: a session decides intraday; its signal "
                "comes from the day's close, which a daily research run evaluates"
            )
        _check_minutes(warmup, spec.symbol, "warm-up")
        self.spec = spec
        self.minutes = INTERVAL_MINUTES[spec.timeframe]
        self._warmup = warmup
        self._today: list[pl.DataFrame] = []
        self.trail_offset: float | None = None
        """The trailing stop's absolute distance at the last bar this session completed (an ATR
        trail's moves with each bar, as in the backtest); None before the first, or without one."""

    def catch_up(self, minute: pl.DataFrame) -> None:
        """Take a minute already traded (a session resumed after a restart): it joins today's
        minutes, and nothing is decided on it."""
        _check_minutes(minute, self.spec.symbol, "a session minute")
        self._today.append(minute)

    def on_minute(self, minute: pl.DataFrame) -> Decision | None:
        """Take one closed 1m bar (a one-row candle frame of the spec's symbol); the entry
        decided on its close when it completes a bar of the spec's timeframe, else None."""
        _check_minutes(minute, self.spec.symbol, "a session minute")
        self._today.append(minute)
        ts: datetime = minute["ts"][0]
        if not completes_bar(ts, self.minutes):
            return None
        candles = pl.concat([self._warmup, *self._today], how="vertical")
        bars = candles if self.spec.timeframe == "1m" else resample(candles, self.spec.timeframe)
        signals = compile_spec(self.spec, bars)
        last = bars.height - 1
        self.trail_offset = trail_distance(signals, last) if signals.has_trailing_stop else None
        if not signals.entry[last]:
            return None
        return decision_at(signals, bars, last, ts + timedelta(minutes=1))


def decision_at(signals: Signals, bars: pl.DataFrame, bar: int, decided_at: datetime) -> Decision:
    """The entry `signals` decides on bar `bar`'s close, its levels from that close (the
    `Signals` formulas with the close in place of the fill)."""
    close = float(bars["close"][bar])
    direction = signals.direction
    risk = signals.stop_scale * float(signals.stop_offset[bar]) + signals.stop_fraction * close
    reward = (
        float(signals.target_offset[bar])
        + signals.target_fraction * close
        + signals.target_r * risk
    )
    trail = trail_distance(signals, bar) if signals.has_trailing_stop else 0.0
    return Decision(
        spec_id=signals.spec_id,
        bar_ts=bars["ts"][bar],
        decided_at=decided_at,
        direction=direction,
        reference=close,
        stop=close - direction * risk,
        target=None if math.isnan(reward) else close + direction * reward,
        risk=risk,
        trail_offset=trail,
        trail_fraction=signals.trail_fraction,
        break_even_r=None if math.isnan(signals.break_even_r) else signals.break_even_r,
        max_bars_held=signals.max_bars_held,
        square_off_minute=signals.square_off_minute,
    )


def trail_distance(signals: Signals, bar: int) -> float:
    """The trailing stop's absolute distance on bar `bar` (its percent part apart): what the
    backtest kernel trails by on that bar's close."""
    return signals.trail_scale * float(signals.trail_offset[bar])


def _check_minutes(frame: pl.DataFrame, symbol: str, what: str) -> None:
    intervals = set(frame["interval"].unique().to_list()) if frame.height else {"1m"}
    symbols = set(frame["symbol"].unique().to_list()) if frame.height else {symbol}
    if intervals != {"1m"} or symbols != {symbol}:
        raise DataValidationError(
            f"{what} holds {sorted(symbols)} {sorted(intervals)} candles: a session of a "
            f"{symbol} spec takes {symbol} 1m candles"
        )


def completes_bar(minute_ts: datetime, minutes: int) -> bool:
    """Whether the 1m bar opening at `minute_ts` is the last minute of a `minutes` bar (bars
    counted from 09:15 IST, as `resample` labels them; the session's last minute ends one)."""
    local = to_ist(minute_ts)
    minute = local.hour * 60 + local.minute - OPEN_MINUTE
    return (minute + 1) % minutes == 0 or minute == MINUTES - 1
