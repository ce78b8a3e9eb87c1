"""The layouts of what the compiled backtest code exchanges: named tuples and plain vectors.

Compiled code takes no objects: the candles, a spec's arrays, the outputs and an exit travel
as named tuples of arrays and numbers (below); the config, a spec's scalar rules, the charge
rates, a trade record and the simulation's own measures as float64 vectors whose fields are
the positions named here. Python builds them (`engine.py`, `batch.py`) and reads them back
(`result.py`, `metrics.py`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tradeloop.domain.exits import ExitReason

# Config vector (BacktestConfig.kernel_vector).
C_CAPITAL, C_RISK_FRACTION, C_FIXED_SIZING, C_QUANTITY, C_LOT_SIZE, C_COMPOUNDING = range(6)
C_SLIPPAGE_BPS, C_SLIPPAGE_TICKS, C_TICK_SIZE, C_STOPS_FROM_ENTRY_BAR, C_APPLY_COSTS = range(6, 11)
C_MAX_NOTIONAL_FRACTION, C_LEVELS_FROM_SIGNAL = 11, 12
N_CONFIG = 13

# Spec vector: the scalar fields of `Signals` (the square-off arrives as `square_off_bars`).
P_DIRECTION, P_STOP_FRACTION, P_TARGET_FRACTION, P_TARGET_R, P_TRAIL_FRACTION = range(5)
P_BREAK_EVEN_R, P_MAX_BARS, P_HAS_SQUARE_OFF, P_HAS_TRAIL = range(5, 9)
P_STOP_SCALE, P_TRAIL_SCALE = range(9, 11)
N_SPEC = 11

# Charge rates, in `costs.RATE_FIELDS` order (engine.py checks the order at import).
R_BROKERAGE_FLAT, R_BROKERAGE_RATE, R_STT_BUY, R_STT_SELL = range(4)
R_EXCHANGE, R_SEBI_PER_CRORE, R_STAMP_BUY, R_GST = range(4, 8)

# One trade record (a row of float64; bar indices are exact in float64 far beyond any history).
T_SIGNAL_BAR, T_ENTRY_BAR, T_EXIT_BAR, T_ENTRY_PRICE, T_EXIT_PRICE, T_QUANTITY = range(6)
T_REASON, T_GROSS, T_BROKERAGE, T_STT, T_EXCHANGE, T_SEBI, T_STAMP, T_GST = range(6, 14)
T_COSTS, T_SLIPPAGE, T_NET, T_R, T_BARS_HELD, T_INITIAL_STOP, T_TARGET, T_RISK = range(14, 22)
N_TRADE_FIELDS = 22

# What the simulation reports besides the trades (a row of float64).
K_END_EQUITY, K_MAX_DRAWDOWN, K_MAX_DRAWDOWN_FRACTION, K_LONGEST_DRAWDOWN_BARS = range(4)
K_LONGEST_DRAWDOWN_SESSIONS, K_SKIPPED_ZERO_LOT, K_SKIPPED_AFTER_SQUARE_OFF = range(4, 7)
K_SKIPPED_INVALID_STOP, K_IGNORED_IN_POSITION, K_SKIPPED_NO_CONTRACT = range(7, 10)
N_STATS = 10

# Exit reasons: the codes of `ExitReason` (domain/exits.py) as plain ints for compiled code.
STOP = ExitReason.STOP.code
TARGET = ExitReason.TARGET.code
TRAILING_STOP = ExitReason.TRAILING_STOP.code
BREAK_EVEN_STOP = ExitReason.BREAK_EVEN_STOP.code
MAX_BARS = ExitReason.MAX_BARS.code
SQUARE_OFF = ExitReason.SQUARE_OFF.code
END_OF_DATA = ExitReason.END_OF_DATA.code

# Outcomes of filling a signal (an option backtest adds: no contract that day).
OPENED, SKIPPED_ZERO_LOT, SKIPPED_INVALID_STOP, SKIPPED_NO_CONTRACT = range(4)

# Extremes of each block of BLOCK bars (rows of `bar_blocks`): a scan skips a whole block when
# its extremes show nothing can happen inside it, instead of visiting each bar.
BLOCK = 32
X_MIN_LOW, X_MAX_HIGH, X_MIN_CLOSE, X_MAX_CLOSE, X_SESSION_BREAK = range(5)


class Market(NamedTuple):
    """The candles, as every compiled function reads them (`engine.kernel_market`)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    session: np.ndarray
    """int64: the session (trading day) of each bar, counted from 0."""
    minute: np.ndarray
    """int64: minutes from the session's open to the bar's."""
    blocks: np.ndarray
    """`exits.bar_blocks`: the extremes of each block of BLOCK bars (rows X_*)."""


class Strategy(NamedTuple):
    """One spec's signals: its entries, the offsets of its levels and its scalar rules."""

    entry: np.ndarray
    """bool: a signal on the bar's close."""
    stop_offset: np.ndarray
    target_offset: np.ndarray
    trail_offset: np.ndarray
    """Empty without a trailing stop (rules[P_HAS_TRAIL] == 0)."""
    square_off_bars: np.ndarray
    """`exits.square_off_bars`; empty without a square-off (rules[P_HAS_SQUARE_OFF] == 0)."""
    rules: np.ndarray
    """The spec vector (P_*)."""


class Strategies(NamedTuple):
    """Many specs over the same candles: spec `s` has row `s` of `entries` and `rules`, and row
    `stop_row[s]` of `stop_offsets` (the same for the other arrays), so that the arrays many
    specs share (the compiler's zeros and NaNs) are stored once."""

    entries: np.ndarray
    stop_offsets: np.ndarray
    stop_row: np.ndarray
    target_offsets: np.ndarray
    target_row: np.ndarray
    trail_offsets: np.ndarray
    trail_row: np.ndarray
    square_off_bars: np.ndarray
    square_off_row: np.ndarray
    rules: np.ndarray


class Outputs(NamedTuple):
    """Where one simulation of bars [start, end) writes."""

    trades: np.ndarray
    """A row (T_*) per trade; as many rows as signals in [start, end − 1), a bound on trades."""
    equity: np.ndarray
    """The equity at each bar's close from `start`, or empty (not kept)."""
    session_equity: np.ndarray
    """The equity at each session's last close, from the session of `start`."""
    stats: np.ndarray
    """The simulation's own measures (K_*)."""


class BatchOutputs(NamedTuple):
    """What a batch of simulations wrote: spec `s` has trades rows
    `offsets[s] : offsets[s] + counts[s]` and row `s` of the others."""

    trades: np.ndarray
    offsets: np.ndarray
    counts: np.ndarray
    equity: np.ndarray
    session_equity: np.ndarray
    stats: np.ndarray


class Exit(NamedTuple):
    """Where and why a position closes: its reference price is the level (a stop or a target
    inside the bar), the bar's open (`at_open`), or the last close; slippage comes after."""

    bar: int
    reason: int
    reference: float
    at_open: bool
