"""The floor for `bench_backtest.py`: the reference workload as one hand-written numba loop.

RSI(period) crossing below `level` → long 1 unit at the next bar's open; stop at
`fill − stop_fraction × fill`, target at `fill + target_fraction × fill`, checked from the bar
after the entry; no costs, no slippage, no square-off. Per bar, in this order:

1. an entry decided on the previous bar fills at this bar's open (no exit check on that bar:
   tradeloop's `stops_from_entry_bar=False`);
2. an open position exits at the open when the bar opens at or beyond a level (below the stop:
   a stop; above the target: a target), else at the stop when the low reaches it, else at the
   target when the high reaches it (a bar touching both is a stop);
3. Wilder's RSI of this bar's close, computed as TA-Lib's `TA_RSI` computes it (the same
   sums, the same smoothing order and `100 × gain / (gain + loss)`, so the same bits);
4. a cross (`rsi[t] < level` and `rsi[t-1] >= level`) while flat, with a next bar to fill on,
   becomes the entry of the next bar.

A position still open after the last bar closes at its close (tradeloop's `end_of_data`).
Nothing here is shared with tradeloop: it is the least code that does the same work, so the
public path's time can be read against it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl
from numba import njit

TRADE_COLUMNS = ("entry_bar", "exit_bar", "entry_price", "exit_price")


class ReferenceResult(NamedTuple):
    trades: np.ndarray
    """One row per trade: `TRADE_COLUMNS`; the last row may be the end-of-data close."""
    trade_count: int
    net_pnl: float
    win_rate_pct: float


@njit(cache=True, nogil=True)
def rsi_cross_trades(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    period: int,
    level: float,
    stop_fraction: float,
    target_fraction: float,
) -> np.ndarray:
    """The trades of the workload (rows of `TRADE_COLUMNS`), in one pass over the bars."""
    n = close.shape[0]
    trades = np.empty((n // 2 + 1, 4))
    count = 0
    gain = 0.0
    loss = 0.0
    previous_rsi = np.nan
    pending = False
    holding = False
    entry_bar = 0
    entry_price = 0.0
    stop = 0.0
    target = 0.0
    for i in range(1, n):
        if pending:
            entry_bar = i
            entry_price = open_[i]
            stop = entry_price - stop_fraction * entry_price
            target = entry_price + target_fraction * entry_price
            pending = False
            holding = True
        elif holding:
            exit_price = np.nan
            if open_[i] <= stop or open_[i] >= target:
                exit_price = open_[i]
            elif low[i] <= stop:
                exit_price = stop
            elif high[i] >= target:
                exit_price = target
            if not np.isnan(exit_price):
                trades[count, 0] = entry_bar
                trades[count, 1] = i
                trades[count, 2] = entry_price
                trades[count, 3] = exit_price
                count += 1
                holding = False
        change = close[i] - close[i - 1]
        rsi = np.nan
        if i <= period:  # TA-Lib: plain sums over the first `period` changes
            if change < 0:
                loss -= change
            else:
                gain += change
            if i == period:
                loss /= period
                gain /= period
        else:  # Wilder's smoothing, in TA-Lib's order of operations
            loss *= period - 1
            gain *= period - 1
            if change < 0:
                loss -= change
            else:
                gain += change
            loss /= period
            gain /= period
        if i >= period:
            total = gain + loss
            rsi = 100.0 * (gain / total) if not -1e-8 < total < 1e-8 else 0.0
        if not holding and not pending and i + 1 < n and rsi < level and previous_rsi >= level:
            pending = True
        previous_rsi = rsi
    if holding:
        trades[count, 0] = entry_bar
        trades[count, 1] = n - 1
        trades[count, 2] = entry_price
        trades[count, 3] = close[n - 1]
        count += 1
    return trades[:count]


def reference_backtest(
    candles: pl.DataFrame,
    *,
    period: int,
    level: float,
    stop_fraction: float,
    target_fraction: float,
) -> ReferenceResult:
    """The workload on a candle frame: its price columns as numpy arrays (a copy-free view of
    polars' float64 columns without nulls), the loop, and the headline metrics."""
    open_, high, low, close = (
        candles[name].to_numpy() for name in ("open", "high", "low", "close")
    )
    trades = rsi_cross_trades(
        open_, high, low, close, period, level, stop_fraction, target_fraction
    )
    pnl = trades[:, 3] - trades[:, 2]
    count = len(trades)
    win_rate = 100.0 * float(np.count_nonzero(pnl > 0)) / count if count else 0.0
    return ReferenceResult(trades, count, float(pnl.sum()), win_rate)
