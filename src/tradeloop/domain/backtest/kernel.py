"""The compiled simulation: one spec over numpy arrays, or many specs over the same candles.

Python prepares the arrays (`engine.py`, `batch.py`) and builds results (`result.py`); nothing
here calls back into Python, and every function releases the GIL, so batches run in parallel
threads without Python per bar. The simulation goes trade by trade: fill a signal
(`fills.py`), find its exit (`exits.py`), mark the bars in between to market (here). The
vector layouts are those of `layout.py`; the fill rules those of docs/backtesting.md.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tradeloop.domain.backtest import _numba_cache  # noqa: F401  (before any @njit)
from tradeloop.domain.backtest.exits import find_exit
from tradeloop.domain.backtest.fills import close_position, open_position
from tradeloop.domain.backtest.layout import (
    BLOCK,
    C_CAPITAL,
    C_COMPOUNDING,
    K_END_EQUITY,
    K_IGNORED_IN_POSITION,
    K_LONGEST_DRAWDOWN_BARS,
    K_LONGEST_DRAWDOWN_SESSIONS,
    K_MAX_DRAWDOWN,
    K_MAX_DRAWDOWN_FRACTION,
    K_SKIPPED_AFTER_SQUARE_OFF,
    K_SKIPPED_INVALID_STOP,
    K_SKIPPED_ZERO_LOT,
    N_STATS,
    N_TRADE_FIELDS,
    OPENED,
    P_DIRECTION,
    P_HAS_SQUARE_OFF,
    SKIPPED_INVALID_STOP,
    SKIPPED_ZERO_LOT,
    T_COSTS,
    T_ENTRY_PRICE,
    T_QUANTITY,
    X_MAX_CLOSE,
    X_MIN_CLOSE,
    X_SESSION_BREAK,
)

# Drawdown bookkeeping, carried as a tuple of floats through the simulation:
# (peak, peak bar, peak session, in drawdown 0/1, max drawdown, max drawdown / peak,
#  longest drawdown in bars, in sessions).
Book = tuple[float, float, float, float, float, float, float, float]


@njit(cache=True, nogil=True, inline="always")
def _mark(
    book: Book,
    equity: float,
    first_bar: int,
    last_bar: int,
    first_session: int,
    last_session: int,
) -> Book:
    """Account for bars first_bar..last_bar closing at `equity`: peak, drawdowns, durations.

    A drawdown's duration runs from the last bar at the peak to the bar that regains it, so it
    is only measured when equity regains its peak (or at the end).
    """
    peak, peak_bar, peak_session, in_drawdown, max_drawdown, max_fraction, longest, sessions = book
    if equity >= peak:
        if in_drawdown > 0 and first_bar - peak_bar > longest:
            longest = first_bar - peak_bar
            sessions = first_session - peak_session
        return (
            equity,
            float(last_bar),
            float(last_session),
            0.0,
            max_drawdown,
            max_fraction,
            longest,
            sessions,
        )
    drawdown = peak - equity
    if drawdown > max_drawdown:
        max_drawdown = drawdown
    if drawdown > max_fraction * peak:
        max_fraction = drawdown / peak
    return (peak, peak_bar, peak_session, 1.0, max_drawdown, max_fraction, longest, sessions)


@njit(cache=True, nogil=True)
def _next_signal(entry: np.ndarray, words: np.ndarray, bar: int, end: int) -> int:
    """The first bar >= `bar` with a signal, or `end`; `words` views `entry` as uint64, so a
    stretch without signals is skipped eight bars at a time."""
    while bar < end:
        whole_word = bar & 7 == 0 and bar + 8 <= end and bar >> 3 < words.shape[0]
        if whole_word and words[bar >> 3] == 0:
            bar += 8
            continue
        if entry[bar]:
            return bar
        bar += 1
    return end


@njit(cache=True, nogil=True)
def count_signals(entry: np.ndarray, first: int, stop: int) -> int:
    """Signals in bars [first, stop), eight bars (bytes of 0/1) per step: multiplying a word
    by 0x0101010101010101 sums its bytes into the top byte."""
    count = 0
    bar = first
    while bar < stop and bar & 7:
        count += entry[bar]
        bar += 1
    words = entry[: entry.shape[0] // 8 * 8].view(np.uint64)
    ones = np.uint64(0x0101010101010101)
    while bar + 8 <= stop:
        count += int((words[bar >> 3] * ones) >> np.uint64(56))
        bar += 8
    while bar < stop:
        count += entry[bar]
        bar += 1
    return count


@njit(cache=True, nogil=True)
def _account_position(
    close: np.ndarray,
    session: np.ndarray,
    blocks: np.ndarray,
    equity_out: np.ndarray,
    session_equity_out: np.ndarray,
    book: Book,
    start: int,
    first_session: int,
    first: int,
    last: int,
    cash: float,
    held: float,
    fill: float,
) -> Book:
    """Bars first..last-1 close with `held` units open from `fill`: mark them to market.

    A whole block whose best close keeps equity below its peak changes only the drawdown,
    through its worst close (equity is monotone in the close), and the sessions ending in it.
    """
    keep_equity = equity_out.shape[0] > 0
    bar = first
    while bar < last:
        block = bar // BLOCK
        block_last = bar + BLOCK - 1
        session_break = int(blocks[X_SESSION_BREAK, block])
        if bar == block * BLOCK and block_last < last and session_break != -2:
            if held > 0:
                best, worst = blocks[X_MAX_CLOSE, block], blocks[X_MIN_CLOSE, block]
            else:
                best, worst = blocks[X_MIN_CLOSE, block], blocks[X_MAX_CLOSE, block]
            if cash + held * (best - fill) < book[0]:
                book = _mark(book, cash + held * (worst - fill), bar, block_last, 0, 0)
                for ends_session in (session_break - 1, block_last):
                    if ends_session >= bar:
                        slot = session[ends_session] - first_session
                        session_equity_out[slot] = cash + held * (close[ends_session] - fill)
                if keep_equity:
                    for index in range(bar, block_last + 1):
                        equity_out[index - start] = cash + held * (close[index] - fill)
                bar += BLOCK
                continue
        equity = cash + held * (close[bar] - fill)
        if keep_equity:
            equity_out[bar - start] = equity
        session_equity_out[session[bar] - first_session] = equity
        book = _mark(book, equity, bar, bar, session[bar], session[bar])
        bar += 1
    return book


@njit(cache=True, nogil=True)
def simulate(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    session: np.ndarray,
    blocks: np.ndarray,
    square_off_bars_: np.ndarray,
    start: int,
    end: int,
    entry: np.ndarray,
    stop_offset: np.ndarray,
    target_offset: np.ndarray,
    trail_offset: np.ndarray,
    spec: np.ndarray,
    config: np.ndarray,
    rates: np.ndarray,
    trades: np.ndarray,
    equity_out: np.ndarray,
    session_equity_out: np.ndarray,
    stats: np.ndarray,
) -> int:
    """Simulate bars [start, end) of one spec; returns the number of trades written.

    `trades` has exactly one row per signal in [start, end − 1) (a bound on the trades);
    `square_off_bars_` comes from `square_off_bars` (empty without a square-off); `equity_out`
    is empty or has `end − start` slots; `session_equity_out` a slot per session in the range.
    Trade by trade: fill a signal, find its exit, mark the bars in between to market.
    """
    has_square_off = spec[P_HAS_SQUARE_OFF] > 0
    capital = config[C_CAPITAL]
    compounding = config[C_COMPOUNDING] > 0
    keep_equity = equity_out.shape[0] > 0
    first_session = session[start]
    book = (capital, float(start - 1), float(first_session), 0.0, 0.0, 0.0, 0.0, 0.0)
    words = entry[: entry.shape[0] // 8 * 8].view(np.uint64)  # 8 bars at a time
    outcomes = np.zeros(3, dtype=np.int64)  # signals filled, skipped for zero lots, invalid
    signals = 0
    skipped_after_square_off = 0
    cash = capital
    n_trades = 0
    pending = -1
    bar = start
    while bar < end:
        if pending >= 0:
            record = trades[n_trades]
            base = cash if compounding else capital
            outcome = open_position(
                open_, pending, bar, stop_offset, target_offset, spec, config, rates, base, record
            )
            pending = -1
            outcomes[outcome] += 1
            if outcome == OPENED:
                cash -= record[T_COSTS]
                square_off_bar = (
                    square_off_bars_[bar + 1] if has_square_off and bar + 1 < end else end
                )
                exit_bar, reason, reference, at_open = find_exit(
                    open_,
                    high,
                    low,
                    close,
                    blocks,
                    square_off_bar,
                    end,
                    trail_offset,
                    spec,
                    config,
                    rates,
                    record,
                )
                held = spec[P_DIRECTION] * record[T_QUANTITY]
                book = _account_position(
                    close,
                    session,
                    blocks,
                    equity_out,
                    session_equity_out,
                    book,
                    start,
                    first_session,
                    bar,
                    exit_bar,
                    cash,
                    held,
                    record[T_ENTRY_PRICE],
                )
                cash += close_position(
                    record, exit_bar, reason, reference, at_open, spec, config, rates
                )
                n_trades += 1
                bar = exit_bar
        # Flat from this bar's close: nothing moves the equity until the next signal.
        signal = _next_signal(entry, words, bar, end)
        last_bar = min(signal, end - 1)
        if keep_equity:
            equity_out[bar - start : last_bar - start + 1] = cash
        first_slot, last_slot = session[bar] - first_session, session[last_bar] - first_session
        session_equity_out[first_slot : last_slot + 1] = cash
        book = _mark(book, cash, bar, last_bar, session[bar], session[last_bar])
        if signal >= end - 1:
            break  # no signal left, or one on the last bar (never taken)
        signals += 1
        if has_square_off and square_off_bars_[signal + 1] == signal + 1:
            skipped_after_square_off += 1  # its fill would be at/after the square-off
        else:
            pending = signal
        bar = signal + 1

    _, peak_bar, peak_session, in_drawdown, max_drawdown, max_fraction, longest, sessions = book
    if in_drawdown > 0 and end - 1 - peak_bar > longest:
        longest = end - 1 - peak_bar
        sessions = session[end - 1] - peak_session
    stats[K_END_EQUITY] = cash
    stats[K_MAX_DRAWDOWN] = max_drawdown
    stats[K_MAX_DRAWDOWN_FRACTION] = max_fraction
    stats[K_LONGEST_DRAWDOWN_BARS] = longest
    stats[K_LONGEST_DRAWDOWN_SESSIONS] = sessions
    stats[K_SKIPPED_ZERO_LOT] = outcomes[SKIPPED_ZERO_LOT]
    stats[K_SKIPPED_AFTER_SQUARE_OFF] = skipped_after_square_off
    stats[K_SKIPPED_INVALID_STOP] = outcomes[SKIPPED_INVALID_STOP]
    # Every signal before the last bar was acted on (or skipped) while flat, or ignored.
    stats[K_IGNORED_IN_POSITION] = trades.shape[0] - signals
    return n_trades


@njit(cache=True, nogil=True)
def simulate_batch(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    session: np.ndarray,
    blocks: np.ndarray,
    start: int,
    end: int,
    entries: np.ndarray,
    stop_pool: np.ndarray,
    stop_row: np.ndarray,
    target_pool: np.ndarray,
    target_row: np.ndarray,
    trail_pool: np.ndarray,
    trail_row: np.ndarray,
    square_off_pool: np.ndarray,
    square_off_row: np.ndarray,
    specs: np.ndarray,
    config: np.ndarray,
    rates: np.ndarray,
    keep_equity: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulate every spec (row of `entries`/`specs`) over bars [start, end), one after the
    other (`batch.py` runs chunks of specs in parallel threads).

    Arrays are shared through pools: spec `s` reads `stop_pool[stop_row[s]]` etc.
    Returns (trades, first trade row per spec, trades per spec, equity, session equity, stats).
    """
    n_specs = entries.shape[0]
    capacity = np.zeros(n_specs, dtype=np.int64)  # signals in [start, end - 1): trades bound
    offsets = np.zeros(n_specs, dtype=np.int64)
    total = 0
    for s in range(n_specs):
        capacity[s] = count_signals(entries[s], start, end - 1)
        offsets[s] = total
        total += capacity[s]
    trades = np.empty((max(total, 1), N_TRADE_FIELDS))
    n_sessions = session[end - 1] - session[start] + 1
    session_equity = np.empty((n_specs, n_sessions))
    equity = np.empty((n_specs, end - start if keep_equity else 0))
    stats = np.zeros((n_specs, N_STATS))
    counts = np.zeros(n_specs, dtype=np.int64)
    for s in range(n_specs):
        counts[s] = simulate(
            open_,
            high,
            low,
            close,
            session,
            blocks,
            square_off_pool[square_off_row[s]],
            start,
            end,
            entries[s],
            stop_pool[stop_row[s]],
            target_pool[target_row[s]],
            trail_pool[trail_row[s]],
            specs[s],
            config,
            rates,
            trades[offsets[s] : offsets[s] + capacity[s]],
            equity[s],
            session_equity[s],
            stats[s],
        )
    return trades, offsets, counts, equity, session_equity, stats
