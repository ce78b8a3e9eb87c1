"""How a position's stop moves on a bar's close: one rule for the backtester, paper and live.

`ratchet_stop` is compiled so that the backtest kernel (`backtest/exits.py`) and the position
manager (`positions/stops.py`) run the same function; each only prepares its own inputs. The
backtest kernels' cache stamp covers this module (`backtest/_numba_cache.py`). It lives apart
from `exits.py` so that reading an exit reason (the ledger, the CLI) does not import numba.
"""

from __future__ import annotations

from numba import njit

from tradeloop.domain.exits import ExitReason

_TRAILING_STOP = ExitReason.TRAILING_STOP.code
_BREAK_EVEN_STOP = ExitReason.BREAK_EVEN_STOP.code


@njit(cache=True, nogil=True)
def ratchet_stop(
    direction: float,
    close: float,
    stop: float,
    stop_kind: int,
    entry: float,
    trail_offset: float,
    trail_fraction: float,
    break_even_move: float,
    break_even_buffer: float,
) -> tuple[float, int]:
    """The stop after a bar closed at `close`, and the code of the rule that set it.

    * Trailing: close − direction × (trail_offset + trail_fraction × close).
    * Break-even, once direction × (close − entry) >= break_even_move:
      entry + direction × break_even_buffer.

    The trailing level is tried first, then break-even, each only when strictly tighter than
    the stop so far: the stop never loosens, and `stop_kind` (an `ExitReason` code) names the
    rule that set it. The caller applies the stop from the next bar. A NaN `trail_offset` or
    `break_even_move` turns that rule off.
    """
    trail = close - direction * (trail_offset + trail_fraction * close)
    if direction * (trail - stop) > 0.0:
        stop, stop_kind = trail, _TRAILING_STOP
    if direction * (close - entry) >= break_even_move:
        break_even = entry + direction * break_even_buffer
        if direction * (break_even - stop) > 0.0:
            stop, stop_kind = break_even, _BREAK_EVEN_STOP
    return stop, stop_kind
