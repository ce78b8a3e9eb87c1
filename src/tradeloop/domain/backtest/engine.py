"""Run backtests: prepare arrays for the compiled kernels and wrap what they return.

`run_backtest` simulates one `Signals` over one candle frame; `batch.run_batch` simulates many
(the research loop's path) with the helpers below. Both take either the candle frame or its
`PriceArrays` (build those once when you run many backtests), and an optional bar range
`[start, end)` used by walk-forward folds. Same inputs, same results, in any process: the
kernels are deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from tradeloop.domain.backtest import exits, kernel, layout
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.metrics import metrics_batch
from tradeloop.domain.backtest.result import BacktestResult
from tradeloop.domain.costs import RATE_FIELDS, CostTable
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.frame_memo import derived
from tradeloop.domain.market.session import OPEN_MINUTE
from tradeloop.domain.strategy.signals import Signals
from tradeloop.errors import DataValidationError, UserError

_KERNEL_RATE_ORDER = (
    "brokerage_flat",
    "brokerage_rate",
    "stt_buy_rate",
    "stt_sell_rate",
    "exchange_rate",
    "sebi_per_crore",
    "stamp_buy_rate",
    "gst_rate",
)
if RATE_FIELDS != _KERNEL_RATE_ORDER:  # the kernel indexes rates by position
    raise RuntimeError(f"costs.RATE_FIELDS changed to {RATE_FIELDS}: update layout.R_* to match")
METRIC_COLUMNS = np.array(
    [layout.T_NET, layout.T_GROSS, layout.T_COSTS, layout.T_R, layout.T_BARS_HELD], dtype=np.int64
)

MarketData = pl.DataFrame | PriceArrays


def market_arrays(market: MarketData) -> PriceArrays:
    """The `PriceArrays` of a candle frame (validated, read once per frame object), or the
    arrays themselves."""
    if isinstance(market, PriceArrays):
        return market
    if market.height == 0:
        raise DataValidationError(
            "the candle frame is empty: load or generate candles for the backtest window first"
        )
    return PriceArrays.of(market)


def run_backtest(
    signals: Signals,
    market: MarketData,
    config: BacktestConfig,
    cost_table: CostTable,
    *,
    start: int = 0,
    end: int | None = None,
    keep_equity: bool = True,
) -> BacktestResult:
    """Backtest one strategy's signals over bars `[start, end)` of `market`, charging every fill
    from `cost_table` (the composition root passes the configured one)."""
    arrays = market_arrays(market)
    start, end = bar_range(arrays, start, end)
    check_alignment(signals, arrays)
    table = cost_table
    entry = frozen(signals.entry, np.bool_)
    capacity = int(np.count_nonzero(entry[start : end - 1]))
    trades = np.empty((capacity, layout.N_TRADE_FIELDS))
    equity = np.empty(end - start if keep_equity else 0)
    n_sessions = int(arrays.session[end - 1] - arrays.session[start]) + 1
    session_equity = np.empty((1, n_sessions))
    stats = np.zeros((1, layout.N_STATS))
    trail = signals.trail_offset if signals.has_trailing_stop else np.empty(0)
    candles = kernel_market(arrays)
    strategy = layout.Strategy(
        entry,
        floats(signals.stop_offset),
        floats(signals.target_offset),
        floats(trail),
        square_off_bars(candles, signals.square_off_minute),
        floats(spec_vector(signals)),
    )
    count = kernel.simulate(
        candles,
        strategy,
        floats(config.kernel_vector()),
        kernel_rates(config, table),
        start,
        end,
        layout.Outputs(trades, equity, session_equity[0], stats[0]),
    )
    metrics = metrics_batch(
        trades,
        np.zeros(1, dtype=np.int64),
        np.array([count], dtype=np.int64),
        session_equity,
        stats[:, layout.K_END_EQUITY].copy(),
        config.capital,
        end - start,
        METRIC_COLUMNS,
    )
    return build_result(
        signals,
        arrays,
        config,
        table,
        start,
        end,
        trades[:count],
        metrics[0],
        stats[0],
        session_equity[0],
        equity if keep_equity else None,
    )


def build_result(
    signals: Signals,
    arrays: PriceArrays,
    config: BacktestConfig,
    table: CostTable,
    start: int,
    end: int,
    records: np.ndarray,
    metric_vector: np.ndarray,
    stats: np.ndarray,
    session_equity: np.ndarray,
    equity: np.ndarray | None,
) -> BacktestResult:
    return BacktestResult(
        spec_id=signals.spec_id,
        direction=signals.direction,
        config=config,
        cost_table_version=table.version if config.apply_costs else "none",
        start=start,
        end=end,
        records=records,
        metric_vector=metric_vector,
        stats=stats,
        timestamps=arrays.ts,
        sessions=arrays.session,
        session_equity=session_equity,
        bar_equity=equity,
    )


def bar_range(arrays: PriceArrays, start: int, end: int | None) -> tuple[int, int]:
    n = len(arrays)
    stop = n if end is None else end
    if not 0 <= start < stop <= n:
        raise UserError(
            f"bar range [{start}, {end}) is not inside the {n} bars of the candles: "
            "pass 0 <= start < end <= number of bars"
        )
    return start, stop


def check_alignment(signals: Signals, arrays: PriceArrays) -> None:
    if len(signals) != len(arrays):
        raise DataValidationError(
            f"signals of spec {signals.spec_id} have {len(signals)} bars but the candles have "
            f"{len(arrays)}: compile the spec on the same candle frame you backtest"
        )


def frozen(values: np.ndarray | list[int], dtype: type) -> np.ndarray:
    """`values` as a C-contiguous, read-only array of `dtype`: a view when it already is
    contiguous. Every kernel input goes through this, so numba compiles one specialisation
    (polars hands out read-only arrays, numpy writable ones: mixing them compiles twice)."""
    view: np.ndarray = np.ascontiguousarray(values, dtype=dtype).view()
    view.flags.writeable = False
    return view


def floats(values: np.ndarray) -> np.ndarray:
    return frozen(values, np.float64)


def kernel_market(arrays: PriceArrays, bars: slice | None = None) -> layout.Market:
    """The candle arrays (the `bars` of them) as the kernels take them (see `frozen`), with
    their bar blocks; all the bars' once per `PriceArrays` object (`market.frame_memo`)."""
    if bars is None:
        return derived(arrays, "kernel_market", lambda: _kernel_market(arrays, slice(None)))
    return _kernel_market(arrays, bars)


def _kernel_market(arrays: PriceArrays, bars: slice) -> layout.Market:
    low, high = floats(arrays.low[bars]), floats(arrays.high[bars])
    close = floats(arrays.close[bars])
    session = frozen(arrays.session[bars], np.int64)
    blocks = floats(exits.bar_blocks(low, high, close, session))
    minute = frozen(arrays.minute_of_session[bars], np.int64)
    return layout.Market(floats(arrays.open[bars]), high, low, close, session, minute, blocks)


def spec_vector(signals: Signals) -> np.ndarray:
    vector = np.zeros(layout.N_SPEC)
    vector[layout.P_DIRECTION] = signals.direction
    vector[layout.P_STOP_FRACTION] = signals.stop_fraction
    vector[layout.P_TARGET_FRACTION] = signals.target_fraction
    vector[layout.P_TARGET_R] = signals.target_r
    vector[layout.P_TRAIL_FRACTION] = signals.trail_fraction
    vector[layout.P_STOP_SCALE] = signals.stop_scale
    vector[layout.P_TRAIL_SCALE] = signals.trail_scale
    vector[layout.P_BREAK_EVEN_R] = signals.break_even_r
    vector[layout.P_MAX_BARS] = max(signals.max_bars_held, 0)
    vector[layout.P_HAS_SQUARE_OFF] = 1.0 if signals.square_off_minute >= 0 else 0.0
    vector[layout.P_HAS_TRAIL] = 1.0 if signals.has_trailing_stop else 0.0
    if math.isinf(signals.break_even_r):
        vector[layout.P_BREAK_EVEN_R] = math.nan
    return vector


def square_off_bars(candles: layout.Market, square_off_minute: int) -> np.ndarray:
    """`exits.square_off_bars` for an IST minute of day; empty when there is no square-off."""
    if square_off_minute < 0:
        return frozen(np.empty(0, dtype=np.int64), np.int64)
    minute = square_off_minute - OPEN_MINUTE
    return frozen(exits.square_off_bars(candles.session, candles.minute, minute), np.int64)


def kernel_rates(config: BacktestConfig, table: CostTable) -> np.ndarray:
    if not config.apply_costs:
        return floats(np.zeros(len(RATE_FIELDS)))
    return floats(table.rates(config.instrument_kind).as_vector())
