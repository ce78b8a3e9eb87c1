"""Invariants of the backtester on random markets, signals and rules (hypothesis).

* no look-ahead: a backtest of the data cut at bar t agrees on every trade closed before t;
* the trade list's net P&L sums to the change of equity, and each trade's parts add up;
* charges and slippage are never negative;
* one position at a time, exits never before entries;
* the batch kernel equals the single kernel, spec by spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.backtest import BacktestConfig, run_backtest, run_batch
from tradeloop.domain.costs import CostTable
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.strategy.signals import Signals

COSTS = CostTable.bundled()

BARS_PER_SESSION = 75  # 5m bars from 09:15 to 15:25 IST
_FIRST_OPEN_NS = 1_736_135_100_000_000_000  # 2025-01-06 09:15 IST
_DAY_NS = 86_400_000_000_000
_FIVE_MINUTES_NS = 300_000_000_000
COST_COLUMNS = ("brokerage", "stt", "exchange", "sebi", "stamp_duty", "gst", "costs", "slippage")


def market(seed: int, sessions: int) -> PriceArrays:
    """Random 5m bars with overnight gaps (sometimes large, to gap through stops)."""
    rng = np.random.default_rng(seed)
    n = sessions * BARS_PER_SESSION
    session = np.repeat(np.arange(sessions, dtype=np.int64), BARS_PER_SESSION)
    minute = np.tile(np.arange(BARS_PER_SESSION, dtype=np.int64) * 5, sessions)
    moves = rng.normal(0.0, 0.003, n)
    jitter = rng.normal(0.0, 0.0008, n)
    jitter[minute == 0] = rng.normal(0.0, 0.01, sessions)
    close = np.empty(n)
    open_ = np.empty(n)
    level = 24_000.0
    for i in range(n):
        open_[i] = level * math.exp(jitter[i])
        close[i] = open_[i] * math.exp(moves[i])
        level = close[i]
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.002, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.002, n)))
    ts = _FIRST_OPEN_NS + session * _DAY_NS + minute * 60_000_000_000
    return PriceArrays(open_, high, low, close, np.zeros(n), session, minute, ts, bar_minutes=5)


@dataclass(frozen=True)
class Case:
    arrays: PriceArrays
    signals: Signals
    config: BacktestConfig


@st.composite
def signals_for(draw: st.DrawFn, arrays: PriceArrays, spec_id: str = "random") -> Signals:
    n = len(arrays)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    entry = rng.random(n) < draw(st.sampled_from([0.02, 0.08, 0.3]))
    stop_fraction = draw(st.sampled_from([0.0, 0.002, 0.006]))
    absolute_stop = stop_fraction == 0 or draw(st.booleans())
    stop_offset = rng.uniform(5, 60, n) if absolute_stop else np.zeros(n)
    target = draw(st.sampled_from(["none", "fraction", "r"]))
    trail = draw(st.sampled_from(["none", "fraction", "offset"]))
    return Signals(
        spec_id=spec_id,
        direction=draw(st.sampled_from([1, -1])),
        entry=entry,
        stop_offset=stop_offset,
        stop_fraction=stop_fraction,
        target_offset=np.full(n, np.nan) if target == "none" else np.zeros(n),
        target_fraction=0.008 if target == "fraction" else 0.0,
        target_r=draw(st.sampled_from([1.0, 2.5])) if target == "r" else 0.0,
        trail_offset=(
            np.empty(0) if trail == "none" else rng.uniform(10, 80, n) * (trail == "offset")
        ),
        trail_fraction=0.004 if trail == "fraction" else 0.0,
        break_even_r=draw(st.sampled_from([math.nan, 0.5, 1.5])),
        max_bars_held=draw(st.sampled_from([0, 3, 12])),
        square_off_minute=draw(st.sampled_from([-1, 15 * 60 + 15, 14 * 60 + 30])),
    )


@st.composite
def configs(draw: st.DrawFn) -> BacktestConfig:
    fixed = draw(st.booleans())
    return BacktestConfig(
        capital=draw(st.sampled_from([2e5, 1e6, 5e6])),
        risk_per_trade_pct=draw(st.sampled_from([0.5, 1.0, 3.0])),
        sizing="fixed_quantity" if fixed else "risk",
        quantity=65 if fixed else 0,
        lot_size=65,
        compounding=draw(st.booleans()),
        slippage_bps=draw(st.sampled_from([0.0, 2.0])),
        slippage_ticks=draw(st.sampled_from([0.0, 1.0])),
        stops_from_entry_bar=draw(st.booleans()),
        apply_costs=draw(st.booleans()),
        levels_from=draw(st.sampled_from(["signal", "fill"])),
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    arrays = market(draw(st.integers(0, 2**32 - 1)), draw(st.integers(1, 4)))
    return Case(arrays, draw(signals_for(arrays)), draw(configs()))


def _head(signals: Signals, t: int) -> Signals:
    return Signals(
        spec_id=signals.spec_id,
        direction=signals.direction,
        entry=signals.entry[:t],
        stop_offset=signals.stop_offset[:t],
        stop_fraction=signals.stop_fraction,
        target_offset=signals.target_offset[:t],
        target_fraction=signals.target_fraction,
        target_r=signals.target_r,
        trail_offset=signals.trail_offset[:t],
        trail_fraction=signals.trail_fraction,
        break_even_r=signals.break_even_r,
        max_bars_held=signals.max_bars_held,
        square_off_minute=signals.square_off_minute,
    )


@settings(max_examples=60, deadline=None)
@given(case=cases(), cut=st.floats(0.05, 0.95))
def test_no_look_ahead_trades_closed_before_the_cut_agree(case: Case, cut: float) -> None:
    t = max(2, int(len(case.arrays) * cut))
    full = run_backtest(case.signals, case.arrays, case.config, COSTS)
    head = run_backtest(_head(case.signals, t), case.arrays.head(t), case.config, COSTS)
    closed = head.trades.filter(pl.col("exit_reason") != "end_of_data")
    assert head.trades.filter(pl.col("exit_reason") == "end_of_data").height <= 1
    assert closed.equals(full.trades.head(closed.height))
    assert (
        full.trades.filter(pl.col("exit_bar") < t - 1).height
        == closed.filter(pl.col("exit_bar") < t - 1).height
    )
    # Equity before the cut's last bar (where the open trade is closed) is the same.
    assert np.array_equal(head.equity["equity"][: t - 1], full.equity["equity"][: t - 1])


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_trade_pnl_sums_to_equity_change_and_costs_are_never_negative(case: Case) -> None:
    result = run_backtest(case.signals, case.arrays, case.config, COSTS)
    trades = result.trades
    metrics = result.metrics
    capital = case.config.capital
    scale = max(capital, 1.0) * 1e-9
    assert math.isclose(trades["net_pnl"].sum(), metrics.end_equity - capital, abs_tol=scale)
    assert math.isclose(result.equity["equity"][-1], metrics.end_equity, abs_tol=scale)
    assert math.isclose(metrics.net_pnl, metrics.gross_pnl - metrics.costs, abs_tol=scale)
    for column in COST_COLUMNS:
        assert (trades[column] >= 0).all(), column
    if not case.config.apply_costs:
        assert (trades["costs"] == 0).all()
    parts = sum(trades[column] for column in COST_COLUMNS[:6]) if trades.height else None
    if parts is not None:
        assert np.allclose(parts.to_numpy(), trades["costs"].to_numpy())
        assert np.allclose(
            (trades["gross_pnl"] - trades["costs"]).to_numpy(), trades["net_pnl"].to_numpy()
        )
        r_back = trades["r_multiple"] * trades["quantity"] * trades["risk_per_unit"]
        assert np.allclose(r_back.to_numpy(), trades["net_pnl"].to_numpy())


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_one_position_at_a_time_and_exits_after_entries(case: Case) -> None:
    trades = run_backtest(case.signals, case.arrays, case.config, COSTS).trades
    if trades.height == 0:
        return
    assert (trades["entry_bar"] == trades["signal_bar"] + 1).all()
    assert (trades["exit_bar"] >= trades["entry_bar"]).all()
    assert (trades["entry_bar"].shift(-1).drop_nulls() > trades["exit_bar"].head(-1)).all()
    assert (trades["quantity"] > 0).all()
    assert (trades["bars_held"] >= 0).all()
    if case.config.sizing == "risk":
        assert (trades["quantity"] % case.config.lot_size == 0).all()
    if case.config.sizing == "risk" and not case.config.compounding:
        budget = case.config.capital * case.config.risk_per_trade_pct / 100
        at_risk = trades["quantity"] * trades["risk_per_unit"]
        assert (at_risk <= budget * (1 + 1e-12)).all()
    square_off = case.signals.square_off_minute
    if square_off >= 0:
        # Intraday: filled before the square-off, closed in the same session.
        session, minute = case.arrays.session, case.arrays.minute_of_session
        entry_bar, exit_bar = trades["entry_bar"].to_numpy(), trades["exit_bar"].to_numpy()
        assert (minute[entry_bar] < square_off - (9 * 60 + 15)).all()
        assert (session[entry_bar] == session[exit_bar]).all()


@settings(max_examples=40, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), sessions=st.integers(1, 3))
def test_batch_kernel_equals_single_kernel_spec_by_spec(
    data: st.DataObject, seed: int, sessions: int
) -> None:
    arrays = market(seed, sessions)
    many = [data.draw(signals_for(arrays, f"spec{index}")) for index in range(4)]
    config = data.draw(configs())
    start = data.draw(st.integers(0, len(arrays) // 2))
    for together, signals in zip(
        run_batch(many, arrays, config, COSTS, start=start, keep_equity=True), many, strict=True
    ):
        alone = run_backtest(signals, arrays, config, COSTS, start=start)
        assert together.metrics == alone.metrics
        assert together.trades.equals(alone.trades)
        assert together.equity.equals(alone.equity)


def _drawdowns(equity: np.ndarray, capital: float) -> tuple[float, float, int]:
    """Max drawdown, max drawdown / peak and the longest bars from a peak to its recovery,
    bar by bar, the slow obvious way."""
    peak, peak_bar, below = capital, -1, False
    worst, worst_fraction, longest = 0.0, 0.0, 0
    for bar, value in enumerate(equity):
        if value >= peak:
            if below:
                longest = max(longest, bar - peak_bar)
            peak, peak_bar, below = value, bar, False
        else:
            below = True
            worst = max(worst, peak - value)
            worst_fraction = max(worst_fraction, (peak - value) / peak)
    if below:
        longest = max(longest, len(equity) - 1 - peak_bar)
    return worst, worst_fraction, longest


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_drawdowns_and_daily_equity_follow_the_bar_equity(case: Case) -> None:
    result = run_backtest(case.signals, case.arrays, case.config, COSTS)
    equity = result.equity["equity"].to_numpy()
    worst, worst_fraction, longest = _drawdowns(equity, case.config.capital)
    metrics = result.metrics
    assert math.isclose(metrics.max_drawdown, worst, rel_tol=1e-12, abs_tol=1e-9)
    assert math.isclose(metrics.max_drawdown_pct, 100 * worst_fraction, rel_tol=1e-9, abs_tol=1e-12)
    assert metrics.longest_drawdown_bars == longest
    last_of_session = np.flatnonzero(np.diff(case.arrays.session, append=-1) != 0)
    assert np.array_equal(result.daily_equity["equity"].to_numpy(), equity[last_of_session])
