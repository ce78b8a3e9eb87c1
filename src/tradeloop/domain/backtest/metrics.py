"""Performance metrics of one backtest. Every formula is written out in docs/backtesting.md.

The trade statistics and the daily-return ratios are computed in compiled code (one call for a
whole batch of specs); drawdowns and skip counts come from the simulation itself, which sees
every bar. `Metrics` is the frozen record the rest of tradeloop reads.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from tradeloop.domain.backtest import _numba_cache, layout  # noqa: F401  (before any @njit)

SESSIONS_PER_YEAR = 252

M_TRADES, M_WINS, M_LOSSES, M_WIN_RATE_PCT, M_GROSS_PNL, M_COSTS, M_NET_PNL = range(7)
M_PROFIT_FACTOR, M_EXPECTANCY, M_EXPECTANCY_R, M_AVERAGE_WIN, M_AVERAGE_LOSS = range(7, 12)
M_AVERAGE_WIN_R, M_AVERAGE_LOSS_R, M_RETURN_PCT, M_CAGR_PCT, M_SHARPE, M_SORTINO = range(12, 18)
M_EXPOSURE_PCT, M_AVERAGE_BARS_HELD, M_SESSIONS = range(18, 21)
N_METRICS = 21


class Metrics(BaseModel):
    """What a backtest achieved. Money in rupees, `_pct` fields in percent."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    bars: int = Field(description="Bars simulated.")
    sessions: int = Field(description="Trading sessions simulated.")
    trades: int
    wins: int = Field(description="Trades with net P&L > 0.")
    losses: int = Field(description="Trades with net P&L <= 0.")
    win_rate_pct: float
    gross_pnl: float = Field(description="P&L before charges (slippage is in the prices).")
    costs: float = Field(description="Brokerage, STT, exchange, SEBI, stamp duty and GST.")
    net_pnl: float
    start_equity: float
    end_equity: float
    return_pct: float
    cagr_pct: float = Field(description="Compound annual growth over sessions / 252 years.")
    max_drawdown: float = Field(description="Largest fall of bar-close equity from its peak.")
    max_drawdown_pct: float = Field(description="Largest such fall as percent of the peak.")
    longest_drawdown_bars: int = Field(description="Most bars from a peak to its recovery.")
    longest_drawdown_sessions: int
    profit_factor: float = Field(description="Sum of wins / |sum of losses|; inf if no loss.")
    expectancy: float = Field(description="Mean net P&L per trade.")
    expectancy_r: float = Field(description="Mean R multiple per trade (the average R).")
    average_win: float
    average_loss: float
    average_win_r: float
    average_loss_r: float
    sharpe: float = Field(description="Daily returns, annualised over 252 sessions.")
    sortino: float = Field(description="Daily returns over downside deviation, annualised.")
    exposure_pct: float = Field(description="Percent of bars with an open position.")
    average_bars_held: float
    skipped_zero_lot: int = Field(description="Signals whose size rounded down to zero lots.")
    skipped_after_square_off: int = Field(
        description="Signals whose fill would be at/after the square-off (or in the next session)."
    )
    skipped_invalid_stop: int = Field(
        description="Signals with a non-positive or non-finite risk, or a target behind the fill."
    )
    ignored_in_position: int = Field(description="Signals while a position was open.")
    skipped_no_contract: int = Field(
        0,
        description=(
            "Option signals on a day the spec's expiry rule has no contract (BANKNIFTY "
            "weeklies after 2024-11-14, a year the holiday table does not cover)."
        ),
    )


@njit(cache=True, nogil=True)
def session_returns(session_equity: np.ndarray, capital: float) -> np.ndarray:
    """Each session's return on the equity at the previous session's close (the first session's
    on `capital`): the daily returns the Sharpe ratio and the significance gate measure."""
    sessions = session_equity.shape[0]
    returns = np.empty(sessions)
    previous = capital
    for d in range(sessions):
        returns[d] = (session_equity[d] - previous) / previous if previous > 0.0 else 0.0
        previous = session_equity[d]
    return returns


@njit(cache=True, nogil=True)
def _metrics_one(
    trades: np.ndarray,
    col_net: int,
    col_gross: int,
    col_costs: int,
    col_r: int,
    col_bars_held: int,
    session_equity: np.ndarray,
    capital: float,
    end_equity: float,
    n_bars: int,
    out: np.ndarray,
) -> None:
    n = trades.shape[0]
    wins = 0
    gross_pnl = 0.0
    costs = 0.0
    win_sum = 0.0
    loss_sum = 0.0
    r_sum = 0.0
    win_r_sum = 0.0
    loss_r_sum = 0.0
    bars_held = 0.0
    for k in range(n):
        net = trades[k, col_net]
        r = trades[k, col_r]
        gross_pnl += trades[k, col_gross]
        costs += trades[k, col_costs]
        r_sum += r
        bars_held += trades[k, col_bars_held]
        if net > 0.0:
            wins += 1
            win_sum += net
            win_r_sum += r
        else:
            loss_sum += net
            loss_r_sum += r
    losses = n - wins
    out[:] = 0.0
    out[M_TRADES] = n
    out[M_WINS] = wins
    out[M_LOSSES] = losses
    out[M_GROSS_PNL] = gross_pnl
    out[M_COSTS] = costs
    out[M_NET_PNL] = win_sum + loss_sum
    if n > 0:
        out[M_WIN_RATE_PCT] = 100.0 * wins / n
        out[M_EXPECTANCY] = (win_sum + loss_sum) / n
        out[M_EXPECTANCY_R] = r_sum / n
        out[M_AVERAGE_BARS_HELD] = bars_held / n
    if wins > 0:
        out[M_AVERAGE_WIN] = win_sum / wins
        out[M_AVERAGE_WIN_R] = win_r_sum / wins
    if losses > 0:
        out[M_AVERAGE_LOSS] = loss_sum / losses
        out[M_AVERAGE_LOSS_R] = loss_r_sum / losses
    if loss_sum < 0.0:
        out[M_PROFIT_FACTOR] = win_sum / -loss_sum
    elif win_sum > 0.0:
        out[M_PROFIT_FACTOR] = np.inf
    if n_bars > 0:
        out[M_EXPOSURE_PCT] = 100.0 * bars_held / n_bars
    out[M_RETURN_PCT] = 100.0 * (end_equity / capital - 1.0)

    sessions = session_equity.shape[0]
    out[M_SESSIONS] = sessions
    if sessions > 0:
        years = sessions / SESSIONS_PER_YEAR
        if end_equity > 0.0:
            out[M_CAGR_PCT] = 100.0 * ((end_equity / capital) ** (1.0 / years) - 1.0)
        else:
            out[M_CAGR_PCT] = -100.0
    returns = session_returns(session_equity, capital)
    if sessions >= 2:
        mean = returns.mean()
        variance = 0.0
        downside = 0.0
        for d in range(sessions):
            variance += (returns[d] - mean) ** 2
            if returns[d] < 0.0:
                downside += returns[d] ** 2
        deviation = math.sqrt(variance / (sessions - 1))
        downside_deviation = math.sqrt(downside / sessions)
        annualiser = math.sqrt(SESSIONS_PER_YEAR)
        if deviation > 0.0:
            out[M_SHARPE] = mean / deviation * annualiser
        if downside_deviation > 0.0:
            out[M_SORTINO] = mean / downside_deviation * annualiser
        elif mean > 0.0:
            out[M_SORTINO] = np.inf


@njit(cache=True, nogil=True)
def metrics_batch(
    trades: np.ndarray,
    offsets: np.ndarray,
    counts: np.ndarray,
    session_equity: np.ndarray,
    end_equity: np.ndarray,
    capital: float,
    n_bars: int,
    columns: np.ndarray,
) -> np.ndarray:
    """Metric vectors (rows of N_METRICS) of every spec of a simulation.

    `columns` holds the trade-record columns of net P&L, gross P&L, costs, R and bars held.
    """
    n_specs = counts.shape[0]
    out = np.zeros((n_specs, N_METRICS))
    for s in range(n_specs):
        first = offsets[s]
        _metrics_one(
            trades[first : first + counts[s]],
            columns[0],
            columns[1],
            columns[2],
            columns[3],
            columns[4],
            session_equity[s],
            capital,
            end_equity[s],
            n_bars,
            out[s],
        )
    return out


_METRIC_FIELDS: tuple[str, ...] = (
    "trades",
    "wins",
    "losses",
    "win_rate_pct",
    "gross_pnl",
    "costs",
    "net_pnl",
    "profit_factor",
    "expectancy",
    "expectancy_r",
    "average_win",
    "average_loss",
    "average_win_r",
    "average_loss_r",
    "return_pct",
    "cagr_pct",
    "sharpe",
    "sortino",
    "exposure_pct",
    "average_bars_held",
    "sessions",
)
assert len(_METRIC_FIELDS) == N_METRICS


_INTEGER_FIELDS = frozenset(
    name for name, field in Metrics.model_fields.items() if field.annotation is int
)


def build_metrics(vector: np.ndarray, stats: np.ndarray, *, bars: int, capital: float) -> Metrics:
    """A `Metrics` from a metric vector and the simulation's own measures (`layout.K_*`)."""
    values: dict[str, Any] = dict(zip(_METRIC_FIELDS, vector.tolist(), strict=True))
    measured = stats.tolist()
    values["bars"] = bars
    values["start_equity"] = capital
    values["end_equity"] = measured[layout.K_END_EQUITY]
    values["max_drawdown"] = measured[layout.K_MAX_DRAWDOWN]
    values["max_drawdown_pct"] = 100.0 * measured[layout.K_MAX_DRAWDOWN_FRACTION]
    values["longest_drawdown_bars"] = measured[layout.K_LONGEST_DRAWDOWN_BARS]
    values["longest_drawdown_sessions"] = measured[layout.K_LONGEST_DRAWDOWN_SESSIONS]
    values["skipped_zero_lot"] = measured[layout.K_SKIPPED_ZERO_LOT]
    values["skipped_after_square_off"] = measured[layout.K_SKIPPED_AFTER_SQUARE_OFF]
    values["skipped_invalid_stop"] = measured[layout.K_SKIPPED_INVALID_STOP]
    values["ignored_in_position"] = measured[layout.K_IGNORED_IN_POSITION]
    values["skipped_no_contract"] = measured[layout.K_SKIPPED_NO_CONTRACT]
    for name in _INTEGER_FIELDS:
        values[name] = int(values[name])
    # Built from the kernel's own numbers: validation would only cost time in large batches.
    return Metrics.model_construct(**values)
