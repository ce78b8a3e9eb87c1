"""Compiled exits: where and why a position closes, following docs/backtesting.md.

A position with fixed levels (no trailing stop, no break-even) is found by a scan that skips
whole blocks of bars whose extremes cannot reach either level; one whose stop moves on the
close is followed bar by bar.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from tradeloop.domain.backtest import _numba_cache  # noqa: F401  (before any @njit)
from tradeloop.domain.backtest.fills import estimated_charges, slippage
from tradeloop.domain.backtest.layout import (
    BLOCK,
    C_APPLY_COSTS,
    C_STOPS_FROM_ENTRY_BAR,
    C_TICK_SIZE,
    END_OF_DATA,
    MAX_BARS,
    P_BREAK_EVEN_R,
    P_DIRECTION,
    P_HAS_SQUARE_OFF,
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
    T_TARGET,
    TARGET,
    X_MAX_CLOSE,
    X_MAX_HIGH,
    X_MIN_CLOSE,
    X_MIN_LOW,
    X_SESSION_BREAK,
    Exit,
    Market,
    Strategy,
)
from tradeloop.domain.price_ticks import round_to_tick
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
        # One pass over the block's bars for all five numbers: four slice reductions and a
        # session scan read every bar five times and took 5x as long on 1M bars.
        min_low, max_high = low[first], high[first]
        min_close = max_close = close[first]
        session_break = -1.0
        for bar in range(first + 1, last):
            min_low = min(min_low, low[bar])
            max_high = max(max_high, high[bar])
            min_close = min(min_close, close[bar])
            max_close = max(max_close, close[bar])
            if session[bar] != session[bar - 1]:
                session_break = bar if session_break == -1.0 else -2.0
        out[X_MIN_LOW, block] = min_low
        out[X_MAX_HIGH, block] = max_high
        out[X_MIN_CLOSE, block] = min_close
        out[X_MAX_CLOSE, block] = max_close
        out[X_SESSION_BREAK, block] = session_break
    return out


class OpenPosition(NamedTuple):
    """What the exit rules read of an open position."""

    direction: float
    entry_bar: int
    stop: float
    stop_kind: int
    """The reason a stop-out gives: the rule that set the stop (STOP, TRAILING_STOP, ...)."""
    target: float
    """NaN: no target."""


@njit(cache=True, nogil=True)
def find_exit(
    market: Market,
    strategy: Strategy,
    config: np.ndarray,
    rates: np.ndarray,
    end: int,
    record: np.ndarray,
) -> Exit:
    """The exit of the position `record` holds, by the rules of docs/backtesting.md ("Exits")."""
    rules = strategy.rules
    entry_bar = int(record[T_ENTRY_BAR])
    position = OpenPosition(
        rules[P_DIRECTION], entry_bar, record[T_INITIAL_STOP], STOP, record[T_TARGET]
    )
    square_off_bar = end
    if rules[P_HAS_SQUARE_OFF] > 0 and entry_bar + 1 < end:
        square_off_bar = strategy.square_off_bars[entry_bar + 1]
    limit = min(square_off_bar, end)
    if rules[P_MAX_BARS] > 0:
        limit = min(limit, entry_bar + int(rules[P_MAX_BARS]))
    first = entry_bar if config[C_STOPS_FROM_ENTRY_BAR] > 0 else entry_bar + 1
    fill = record[T_ENTRY_PRICE]
    if first == entry_bar and position.direction * (fill - position.stop) <= 0.0:
        # Levels measured from the signal's close, and the open gapped through the stop: the
        # stop order goes off on the first price after the fill, the bar's worse extreme.
        adverse = market.low[entry_bar] if position.direction > 0 else market.high[entry_bar]
        return Exit(entry_bar, STOP, adverse, False)
    if rules[P_HAS_TRAIL] == 0 and math.isnan(rules[P_BREAK_EVEN_R]):
        # Fixed levels: find the first bar that reaches either, then apply that bar's rules.
        bar = _first_touch(market, first, limit, position)
        if bar < limit:
            return _exit_in_bar(market, bar, position)
        return _exit_at_limit(market, limit, square_off_bar, end, position)

    # A stop that moves on each close, from the next bar: follow the position bar by bar.
    direction = position.direction
    tick = config[C_TICK_SIZE]
    close, trail_offset = market.close, strategy.trail_offset
    has_trail = rules[P_HAS_TRAIL] > 0
    trail_scale, trail_fraction = rules[P_TRAIL_SCALE], rules[P_TRAIL_FRACTION]
    # R is the fill's distance to the initial stop, as the position manager measures it.
    break_even_move = rules[P_BREAK_EVEN_R] * abs(fill - record[T_INITIAL_STOP])  # NaN: none
    break_even_buffer = 0.0
    if not math.isnan(rules[P_BREAK_EVEN_R]):
        # The break-even stop nets ~zero: round-trip charges and the exit's slippage, per unit.
        quantity = record[T_QUANTITY]
        exit_charges = 0.0
        if config[C_APPLY_COSTS] > 0:
            exit_charges = estimated_charges(rates, direction < 0, fill, quantity)
        break_even_buffer = (record[T_COSTS] + exit_charges) / quantity + slippage(fill, config)
    for bar in range(entry_bar, limit):
        if bar >= first:
            hit = _exit_in_bar(market, bar, position)
            if hit.bar >= 0:
                return hit
        # On the close, effective from the next bar: the one stop rule (domain/stops.py).
        trail = trail_offset[bar] * trail_scale if has_trail else math.nan
        stop, stop_kind = ratchet_stop(
            direction,
            close[bar],
            position.stop,
            position.stop_kind,
            fill,
            trail,
            trail_fraction,
            break_even_move,
            break_even_buffer,
        )
        stop = round_to_tick(stop, tick, int(direction))  # a moved stop goes out on the tick
        position = OpenPosition(direction, entry_bar, stop, stop_kind, position.target)
    return _exit_at_limit(market, limit, square_off_bar, end, position)


@njit(cache=True, nogil=True, inline="always")
def _first_touch(market: Market, first: int, limit: int, position: OpenPosition) -> int:
    """The first bar in [first, limit) whose range reaches the stop or the target, or `limit`.

    A gap through a level reaches it too, so this finds gaps as well.
    """
    direction, stop, target = position.direction, position.stop, position.target
    reach = target if not math.isnan(target) else direction * np.inf  # no target: unreachable
    low, high, blocks = market.low, market.high, market.blocks
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


@njit(cache=True, nogil=True, inline="always")
def _exit_in_bar(market: Market, bar: int, position: OpenPosition) -> Exit:
    """The exit of a bar that touches the stop or the target (-1 as the bar when it does not).

    At its open a gap through the stop or the target fills at the open (not on the entry bar,
    which the position did not hold at its open); inside the bar the stop comes first.
    """
    direction, stop, target = position.direction, position.stop, position.target
    opening = market.open[bar]
    if bar > position.entry_bar:
        if direction * (opening - stop) <= 0.0:
            return Exit(bar, position.stop_kind, opening, True)
        if direction * (opening - target) >= 0.0:
            return Exit(bar, TARGET, opening, True)
    adverse = market.low[bar] if direction > 0 else market.high[bar]
    if direction * (adverse - stop) <= 0.0:
        return Exit(bar, position.stop_kind, stop, False)
    favourable = market.high[bar] if direction > 0 else market.low[bar]
    if direction * (favourable - target) >= 0.0:
        return Exit(bar, TARGET, target, False)
    return Exit(-1, -1, 0.0, False)


@njit(cache=True, nogil=True, inline="always")
def _exit_at_limit(
    market: Market, limit: int, square_off_bar: int, end: int, position: OpenPosition
) -> Exit:
    """Nothing was hit before bar `limit`: exit at its open (a gap through the stop or the
    target first, then square-off, then max bars), or at the last close past the data."""
    if limit >= end:
        return Exit(end - 1, END_OF_DATA, market.close[end - 1], False)
    direction = position.direction
    opening = market.open[limit]
    if direction * (opening - position.stop) <= 0.0:
        return Exit(limit, position.stop_kind, opening, True)
    if direction * (opening - position.target) >= 0.0:
        return Exit(limit, TARGET, opening, True)
    return Exit(limit, SQUARE_OFF if limit == square_off_bar else MAX_BARS, opening, True)
