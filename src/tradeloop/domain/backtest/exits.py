"""Compiled exits: where and why a position closes, following docs/backtesting.md.

A position with fixed levels (no trailing stop, no break-even) is found by a scan that skips
whole blocks of bars whose extremes cannot reach either level; one whose stop moves on the
close is followed bar by bar.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradeloop.domain.backtest import _numba_cache  # noqa: F401  (before any @njit)
from tradeloop.domain.backtest.fills import estimated_charges, slippage
from tradeloop.domain.backtest.layout import (
    BLOCK,
    C_APPLY_COSTS,
    C_STOPS_FROM_ENTRY_BAR,
    END_OF_DATA,
    MAX_BARS,
    P_BREAK_EVEN_R,
    P_DIRECTION,
    P_HAS_TRAIL,
    P_MAX_BARS,
    P_TRAIL_FRACTION,
    P_TRAIL_SCALE,
    SQUARE_OFF,
    STOP,
    T_COSTS,
    T_ENTRY_BAR,
    T_ENTRY_PRICE,
    T_INITIAL_STOP,
    T_QUANTITY,
    T_RISK,
    T_TARGET,
    TARGET,
    X_MAX_CLOSE,
    X_MAX_HIGH,
    X_MIN_CLOSE,
    X_MIN_LOW,
    X_SESSION_BREAK,
)
from tradeloop.domain.stops import ratchet_stop


@njit(cache=True, nogil=True)
def square_off_bars(session: np.ndarray, minute: np.ndarray, square_off: int) -> np.ndarray:
    """For each bar b, the first bar j >= b that opens at/after the square-off minute (minutes
    since 09:15) or opens a session. A position entered at bar e squares off at the open of
    `square_off_bars[e + 1]`, and a signal on bar t is not taken when that is bar t + 1."""
    n = session.shape[0]
    out = np.empty(n, dtype=np.int64)
    following = n
    for bar in range(n - 1, -1, -1):
        if minute[bar] >= square_off or bar == 0 or session[bar] != session[bar - 1]:
            following = bar
        out[bar] = following
    return out


@njit(cache=True, nogil=True)
def bar_blocks(
    low: np.ndarray, high: np.ndarray, close: np.ndarray, session: np.ndarray
) -> np.ndarray:
    """Min low, max high, min close and max close of bars [k·BLOCK, (k+1)·BLOCK), and the
    first bar of the block in a later session than its first bar (-1: none; -2: more than
    one session change)."""
    n_blocks = (close.shape[0] + BLOCK - 1) // BLOCK
    out = np.empty((5, n_blocks))
    for block in range(n_blocks):
        first = block * BLOCK
        last = min(first + BLOCK, close.shape[0])
        out[X_MIN_LOW, block] = low[first:last].min()
        out[X_MAX_HIGH, block] = high[first:last].max()
        out[X_MIN_CLOSE, block] = close[first:last].min()
        out[X_MAX_CLOSE, block] = close[first:last].max()
        out[X_SESSION_BREAK, block] = -1.0
        for bar in range(first + 1, last):
            if session[bar] != session[bar - 1]:
                out[X_SESSION_BREAK, block] = bar if out[X_SESSION_BREAK, block] == -1.0 else -2.0
    return out


@njit(cache=True, nogil=True)
def _first_touch(
    low: np.ndarray,
    high: np.ndarray,
    blocks: np.ndarray,
    first: int,
    limit: int,
    direction: float,
    stop: float,
    target: float,
) -> int:
    """The first bar in [first, limit) whose range reaches the stop or the target, or `limit`.

    A gap through a level reaches it too, so this finds gaps as well.
    """
    reach = target if not math.isnan(target) else direction * np.inf  # no target: unreachable
    bar = first
    while bar < limit:
        block = bar // BLOCK
        if bar == block * BLOCK and bar + BLOCK <= limit:
            if direction > 0:
                quiet = blocks[X_MIN_LOW, block] > stop and blocks[X_MAX_HIGH, block] < reach
            else:
                quiet = blocks[X_MAX_HIGH, block] < stop and blocks[X_MIN_LOW, block] > reach
            if quiet:
                bar += BLOCK
                continue
        if direction > 0:
            if low[bar] <= stop or high[bar] >= reach:
                return bar
        elif high[bar] >= stop or low[bar] <= reach:
            return bar
        bar += 1
    return limit


@njit(cache=True, nogil=True)
def _exit_at_limit(
    open_: np.ndarray,
    close: np.ndarray,
    limit: int,
    square_off_bar: int,
    end: int,
    direction: float,
    stop: float,
    stop_kind: int,
    target: float,
) -> tuple[int, int, float, bool]:
    """Nothing was hit before bar `limit`: exit at its open (a gap through the stop or the
    target first, then square-off, then max bars), or at the last close past the data."""
    if limit >= end:
        return end - 1, END_OF_DATA, close[end - 1], False
    opening = open_[limit]
    if direction * (opening - stop) <= 0.0:
        return limit, stop_kind, opening, True
    if direction * (opening - target) >= 0.0:
        return limit, TARGET, opening, True
    return limit, SQUARE_OFF if limit == square_off_bar else MAX_BARS, opening, True


@njit(cache=True, nogil=True)
def _exit_in_bar(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    bar: int,
    entry_bar: int,
    direction: float,
    stop: float,
    stop_kind: int,
    target: float,
) -> tuple[int, int, float, bool]:
    """The exit of a bar that touches the stop or the target (-1 as the bar when it does not).

    At its open a gap through the stop or the target fills at the open (not on the entry bar,
    which the position did not hold at its open); inside the bar the stop comes first.
    """
    opening = open_[bar]
    if bar > entry_bar:
        if direction * (opening - stop) <= 0.0:
            return bar, stop_kind, opening, True
        if direction * (opening - target) >= 0.0:
            return bar, TARGET, opening, True
    adverse = low[bar] if direction > 0 else high[bar]
    if direction * (adverse - stop) <= 0.0:
        return bar, stop_kind, stop, False
    favourable = high[bar] if direction > 0 else low[bar]
    if direction * (favourable - target) >= 0.0:
        return bar, TARGET, target, False
    return -1, -1, 0.0, False


@njit(cache=True, nogil=True)
def find_exit(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    blocks: np.ndarray,
    square_off_bar: int,
    end: int,
    trail_offset: np.ndarray,
    spec: np.ndarray,
    config: np.ndarray,
    rates: np.ndarray,
    record: np.ndarray,
) -> tuple[int, int, float, bool]:
    """The exit of the position in `record`: (bar, reason, reference price, at the open)."""
    direction = spec[P_DIRECTION]
    entry_bar = int(record[T_ENTRY_BAR])
    stop = record[T_INITIAL_STOP]
    target = record[T_TARGET]
    limit = min(square_off_bar, end)
    if spec[P_MAX_BARS] > 0:
        limit = min(limit, entry_bar + int(spec[P_MAX_BARS]))
    first = entry_bar if config[C_STOPS_FROM_ENTRY_BAR] > 0 else entry_bar + 1
    break_even_r = spec[P_BREAK_EVEN_R]
    if spec[P_HAS_TRAIL] == 0 and math.isnan(break_even_r):
        # Fixed levels: find the first bar that reaches either, then apply that bar's rules.
        bar = _first_touch(low, high, blocks, first, limit, direction, stop, target)
        if bar < limit:
            return _exit_in_bar(open_, high, low, bar, entry_bar, direction, stop, STOP, target)
        return _exit_at_limit(
            open_, close, limit, square_off_bar, end, direction, stop, STOP, target
        )

    fill = record[T_ENTRY_PRICE]
    trail_fraction = spec[P_TRAIL_FRACTION]
    trail_scale = spec[P_TRAIL_SCALE]
    has_trail = spec[P_HAS_TRAIL] > 0
    break_even_move = break_even_r * record[T_RISK]  # NaN: no break-even
    break_even_buffer = 0.0
    if not math.isnan(break_even_r):
        # The break-even stop nets ~zero: round-trip charges and the exit's slippage, per unit.
        quantity = record[T_QUANTITY]
        exit_charges = 0.0
        if config[C_APPLY_COSTS] > 0:
            exit_charges = estimated_charges(rates, direction < 0, fill, quantity)
        break_even_buffer = (record[T_COSTS] + exit_charges) / quantity + slippage(fill, config)
    stop_kind = STOP
    for bar in range(entry_bar, limit):
        if bar >= first:
            hit = _exit_in_bar(open_, high, low, bar, entry_bar, direction, stop, stop_kind, target)
            if hit[0] >= 0:
                return hit
        # On the close, effective from the next bar, never loosened.
        trail = trail_offset[bar] * trail_scale if has_trail else math.nan
        stop, stop_kind = ratchet_stop(
            direction,
            close[bar],
            stop,
            stop_kind,
            fill,
            trail,
            trail_fraction,
            break_even_move,
            break_even_buffer,
        )
    return _exit_at_limit(
        open_, close, limit, square_off_bar, end, direction, stop, stop_kind, target
    )
