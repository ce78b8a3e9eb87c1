"""Metrics: a hand-worked case, and every formula of docs/backtesting.md recomputed with numpy."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import talib

from golden.backtest_frames import NO_COSTS, candles, load_sample, minute_bars, signals
from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest import BacktestConfig, run_backtest
from tradeloop.domain.costs import CostTable
from tradeloop.domain.strategy.signals import Signals

COSTS = CostTable.bundled()


def test_two_trades_worked_by_hand() -> None:
    """10 units, stop 1%, target 2%, no charges. Day 1: entry 100 → target 102 (+20, R +2).
    Day 2: entry 100 → stop 99 (−10, R −1).

    win rate 50%; profit factor 20 / 10 = 2; expectancy (20 − 10) / 2 = 5; expectancy R 0.5;
    end equity 1,000,010. Bar equity peaks at 1,000,020 (after trade 1) and troughs at
    1,000,010: max drawdown 10, 10 / 1,000,020 of the peak.
    Daily returns: r1 = 20 / 1,000,000, r2 = −10 / 1,000,020.
    """
    flat = (100.0, 100.5, 99.5, 100.0)
    day_one = minute_bars("2025-01-06 09:15", [flat, flat, (100, 102.5, 99.5, 102), flat])
    day_two = minute_bars("2025-01-07 09:15", [flat, flat, (100, 100.5, 98.5, 99), flat])
    frame = candles(day_one + day_two)
    result = run_backtest(signals(frame.height, [0, 4]), frame, NO_COSTS, COSTS)
    metrics = result.metrics
    assert result.trades["net_pnl"].to_list() == pytest.approx([20.0, -10.0])
    assert (metrics.trades, metrics.wins, metrics.losses) == (2, 1, 1)
    assert metrics.win_rate_pct == 50.0
    assert metrics.profit_factor == pytest.approx(2.0)
    assert metrics.expectancy == pytest.approx(5.0)
    assert metrics.expectancy_r == pytest.approx(0.5)
    assert (metrics.average_win_r, metrics.average_loss_r) == pytest.approx((2.0, -1.0))
    assert metrics.end_equity == pytest.approx(1_000_010.0)
    assert metrics.return_pct == pytest.approx(0.001)
    assert metrics.max_drawdown == pytest.approx(10.0)
    assert metrics.max_drawdown_pct == pytest.approx(100 * 10 / 1_000_020)
    returns = np.array([20 / 1_000_000, -10 / 1_000_020])
    sharpe = returns.mean() / returns.std(ddof=1) * math.sqrt(252)
    assert metrics.sharpe == pytest.approx(sharpe)
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert metrics.sortino == pytest.approx(returns.mean() / downside * math.sqrt(252))
    assert metrics.sessions == 2
    assert metrics.cagr_pct == pytest.approx(100 * ((1_000_010 / 1e6) ** (252 / 2) - 1))
    # Held bars: trade 1 on bars 1-2, trade 2 on bars 5-6 (both exits inside the bar).
    assert metrics.exposure_pct == pytest.approx(100 * 4 / 8)
    # Equity stays at its peak through bar 5 (the open trade is flat), then falls: the
    # drawdown runs from bar 5 to the last bar, 7, inside one session.
    assert metrics.longest_drawdown_bars == 2
    assert metrics.longest_drawdown_sessions == 0


def test_profit_factor_is_infinite_without_losses_and_zero_without_trades() -> None:
    flat = (100.0, 100.5, 99.5, 100.0)
    frame = candles(minute_bars("2025-01-06 09:15", [flat, flat, (100, 102.5, 99.5, 102)]))
    winner = run_backtest(signals(3, [0]), frame, NO_COSTS, COSTS).metrics
    assert winner.profit_factor == math.inf
    idle = run_backtest(signals(3, []), frame, NO_COSTS, COSTS).metrics
    assert (idle.trades, idle.profit_factor, idle.win_rate_pct, idle.sharpe) == (0, 0, 0, 0)
    assert idle.end_equity == NO_COSTS.capital


def _independent_metrics(
    trades: pl.DataFrame, equity: np.ndarray, daily: np.ndarray, capital: float
) -> dict[str, float]:
    """The documented formulas, written with numpy from the trade list and equity curves."""
    net = trades["net_pnl"].to_numpy()
    wins, losses = net[net > 0], net[net <= 0]
    peak = np.maximum.accumulate(np.concatenate([[capital], equity]))[1:]
    returns = np.diff(np.concatenate([[capital], daily])) / np.concatenate([[capital], daily[:-1]])
    downside = math.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    return {
        "win_rate_pct": 100 * len(wins) / len(net),
        "net_pnl": net.sum(),
        "profit_factor": wins.sum() / -losses.sum(),
        "expectancy": net.mean(),
        "expectancy_r": trades["r_multiple"].mean(),
        "max_drawdown": (peak - equity).max(),
        "max_drawdown_pct": 100 * ((peak - equity) / peak).max(),
        "sharpe": returns.mean() / returns.std(ddof=1) * math.sqrt(252),
        "sortino": returns.mean() / downside * math.sqrt(252),
        "exposure_pct": 100 * trades["bars_held"].sum() / len(equity),
        "return_pct": 100 * (equity[-1] / capital - 1),
    }


def test_metrics_match_the_documented_formulas_on_the_sample() -> None:
    sample = load_sample()
    close = sample["close"].to_numpy()
    n = len(close)
    rsi = talib.RSI(close, 14)
    entry = np.zeros(n, dtype=bool)
    entry[1:] = (rsi[1:] > 60) & (rsi[:-1] <= 60)
    signals_ = Signals("trend", 1, entry, np.zeros(n), 0.003, np.zeros(n), target_r=2.0)
    config = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE, risk_per_trade_pct=2.0)
    result = run_backtest(signals_, sample, config, COSTS)
    assert result.metrics.trades > 20
    expected = _independent_metrics(
        result.trades,
        result.equity["equity"].to_numpy(),
        result.daily_equity["equity"].to_numpy(),
        config.capital,
    )
    for name, value in expected.items():
        assert getattr(result.metrics, name) == pytest.approx(value, rel=1e-9), name


def test_metrics_serialise_infinity_as_a_json_constant() -> None:
    flat = (100.0, 100.5, 99.5, 100.0)
    frame = candles(minute_bars("2025-01-06 09:15", [flat, flat, (100, 102.5, 99.5, 102)]))
    metrics = run_backtest(signals(3, [0]), frame, NO_COSTS, COSTS).metrics
    assert '"profit_factor":Infinity' in metrics.model_dump_json()
