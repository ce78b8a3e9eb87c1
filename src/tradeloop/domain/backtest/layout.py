"""The layouts of the plain vectors the compiled backtest code exchanges.

Compiled code takes no objects: the config, a spec's scalar rules, the charge rates, a trade
record and the simulation's own measures travel as float64 vectors whose fields are these
positions. Python builds them (`engine.py`) and reads them back (`result.py`, `metrics.py`).
"""

from __future__ import annotations

from tradeloop.domain.exits import ExitReason

# Config vector (BacktestConfig.kernel_vector).
C_CAPITAL, C_RISK_FRACTION, C_FIXED_SIZING, C_QUANTITY, C_LOT_SIZE, C_COMPOUNDING = range(6)
C_SLIPPAGE_BPS, C_SLIPPAGE_TICKS, C_TICK_SIZE, C_STOPS_FROM_ENTRY_BAR, C_APPLY_COSTS = range(6, 11)
C_MAX_NOTIONAL_FRACTION = 11
N_CONFIG = 12

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
K_SKIPPED_INVALID_STOP, K_IGNORED_IN_POSITION = range(7, 9)
N_STATS = 9

# Exit reasons: the codes of `ExitReason` (domain/exits.py) as plain ints for compiled code.
STOP = ExitReason.STOP.code
TARGET = ExitReason.TARGET.code
TRAILING_STOP = ExitReason.TRAILING_STOP.code
BREAK_EVEN_STOP = ExitReason.BREAK_EVEN_STOP.code
MAX_BARS = ExitReason.MAX_BARS.code
SQUARE_OFF = ExitReason.SQUARE_OFF.code
END_OF_DATA = ExitReason.END_OF_DATA.code

# Outcomes of filling a signal.
OPENED, SKIPPED_ZERO_LOT, SKIPPED_INVALID_STOP = range(3)

# Extremes of each block of BLOCK bars (rows of `bar_blocks`): a scan skips a whole block when
# its extremes show nothing can happen inside it, instead of visiting each bar.
BLOCK = 32
X_MIN_LOW, X_MAX_HIGH, X_MIN_CLOSE, X_MAX_CLOSE, X_SESSION_BREAK = range(5)
