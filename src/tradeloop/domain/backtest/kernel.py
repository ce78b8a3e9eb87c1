"""The compiled simulation: one spec over numpy arrays, or many specs over the same candles.

Python prepares the arrays (`engine.py`, `batch.py`) and builds results (`result.py`); nothing
here calls back into Python, and every function releases the GIL, so batches run in parallel
threads without Python per bar. The simulation goes trade by trade: fill a signal
(`fills.py`), find its exit (`exits.py`), mark the bars in between to market (here). The
named tuples and vector layouts are those of `layout.py`; the fill rules those of
docs/backtesting.md.

Small helpers run per signal or per trade are inlined (`inline="always"`): a call that takes
a named tuple counts a reference to each of its arrays, which the loop would pay each time.
"""

from __future__ import annotations

from typing import NamedTuple

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
    BatchOutputs,
    Market,
    Outputs,
    Strategies,
    Strategy,
)


class Book(NamedTuple):
    """The drawdown bookkeeping a simulation carries from bar to bar."""

    peak: float
    """The highest bar-close equity so far."""
    peak_bar: int
    """The last bar at the peak."""
    peak_session: int
    in_drawdown: bool
    max_drawdown: float
    max_drawdown_fraction: float
    """Of the peak it fell from."""
    longest_bars: int
    """The longest drawdown that has ended (regained its peak), in bars."""
    longest_sessions: int


@njit(cache=True, nogil=True)
def simulate(
    market: Market,
    strategy: Strategy,
    config: np.ndarray,
    rates: np.ndarray,
    start: int,
    end: int,
    out: Outputs,
) -> int:
    """Simulate bars [start, end) of one strategy into `out`; returns the number of trades.

    Flat until a signal; the signal fills at the next open; the position runs to its exit,
    marked to market on each close; flat again from the exit bar's close. "Entries" below are
    the numbered rules of docs/backtesting.md ("Fill rules").
    """
    entry, square_off_bars, rules = strategy.entry, strategy.square_off_bars, strategy.rules
    direction = rules[P_DIRECTION]
    has_square_off = rules[P_HAS_SQUARE_OFF] > 0
    capital = config[C_CAPITAL]
    compounding = config[C_COMPOUNDING] > 0
    book = Book(capital, start - 1, market.session[start], False, 0.0, 0.0, 0, 0)
    cash = capital
    words = entry[: entry.shape[0] // 8 * 8].view(np.uint64)  # 8 bars a step
    outcomes = np.zeros(3, dtype=np.int64)  # signals filled, skipped for zero lots, invalid
    signals = 0
    skipped_after_square_off = 0
    n_trades = 0
    bar = start
    while True:
        # Flat from this bar's close to the next signal's: the equity is the cash.
        signal = _next_signal(entry, words, bar, end)
        book = _mark_flat(market, out, book, start, bar, min(signal, end - 1), cash)
        if signal >= end - 1:
            break  # no signal left, or one on the last bar (never taken)
        signals += 1
        bar = signal + 1
        if has_square_off and square_off_bars[bar] == bar:
            skipped_after_square_off += 1  # Entries 3: the fill would be at/after the square-off
            continue
        # Entries 1 and 4: the fill at this bar's open; stop, target and size from the fill.
        record = out.trades[n_trades]
        base = cash if compounding else capital
        outcome = open_position(market, strategy, config, rates, signal, base, record)
        outcomes[outcome] += 1
        if outcome != OPENED:
            continue
        cash -= record[T_COSTS]
        # Entries 2: one position at a time, held to its exit ("Exits"), marked to market.
        exit_ = find_exit(market, strategy, config, rates, end, record)
        held = direction * record[T_QUANTITY]
        book = _mark_held(
            market, out, book, start, bar, exit_.bar, cash, held, record[T_ENTRY_PRICE]
        )
        cash += close_position(record, exit_, direction, config, rates)
        n_trades += 1
        bar = exit_.bar  # flat from the exit bar's close: a signal on it can enter (Entries 2)

    stats = out.stats
    _write_book(book, market.session, end, cash, stats)
    stats[K_SKIPPED_ZERO_LOT] = outcomes[SKIPPED_ZERO_LOT]
    stats[K_SKIPPED_AFTER_SQUARE_OFF] = skipped_after_square_off
    stats[K_SKIPPED_INVALID_STOP] = outcomes[SKIPPED_INVALID_STOP]
    # Every signal before the last bar was acted on (or skipped) while flat, or ignored.
    stats[K_IGNORED_IN_POSITION] = out.trades.shape[0] - signals
    return n_trades


@njit(cache=True, nogil=True, inline="always")
def _write_book(book: Book, session: np.ndarray, end: int, cash: float, stats: np.ndarray) -> None:
    """The end equity and the drawdown measures of `book` into `stats` (K_*)."""
    longest_bars, longest_sessions = book.longest_bars, book.longest_sessions
    if book.in_drawdown and end - 1 - book.peak_bar > longest_bars:  # still under water
        longest_bars = end - 1 - book.peak_bar
        longest_sessions = session[end - 1] - book.peak_session
    stats[K_END_EQUITY] = cash
    stats[K_MAX_DRAWDOWN] = book.max_drawdown
    stats[K_MAX_DRAWDOWN_FRACTION] = book.max_drawdown_fraction
    stats[K_LONGEST_DRAWDOWN_BARS] = longest_bars
    stats[K_LONGEST_DRAWDOWN_SESSIONS] = longest_sessions


@njit(cache=True, nogil=True)
def equity_book(
    equity: np.ndarray, session: np.ndarray, start: int, capital: float, stats: np.ndarray
) -> None:
    """The drawdown measures of an equity curve already marked bar by bar (bars `start` …
    `start + len(equity) − 1`, from `capital`) into `stats`, by the rules `simulate` keeps:
    for a simulation that builds its curve outside this kernel (option backtests)."""
    book = Book(capital, start - 1, session[start], False, 0.0, 0.0, 0, 0)
    for index in range(equity.shape[0]):
        bar = start + index
        book = _mark_book(book, equity[index], bar, bar, session[bar], session[bar])
    _write_book(book, session, start + equity.shape[0], equity[-1], stats)


@njit(cache=True, nogil=True)
def simulate_batch(
    market: Market,
    strategies: Strategies,
    config: np.ndarray,
    rates: np.ndarray,
    start: int,
    end: int,
    keep_equity: bool,
) -> BatchOutputs:
    """Simulate every spec of `strategies` over bars [start, end), one after the other
    (`batch.py` runs chunks of specs in parallel threads)."""
    n_specs = strategies.entries.shape[0]
    capacity = np.zeros(n_specs, dtype=np.int64)  # signals in [start, end - 1): trades bound
    offsets = np.zeros(n_specs, dtype=np.int64)
    total = 0
    for s in range(n_specs):
        capacity[s] = count_signals(strategies.entries[s], start, end - 1)
        offsets[s] = total
        total += capacity[s]
    trades = np.empty((max(total, 1), N_TRADE_FIELDS))
    n_sessions = market.session[end - 1] - market.session[start] + 1
    session_equity = np.empty((n_specs, n_sessions))
    equity = np.empty((n_specs, end - start if keep_equity else 0))
    stats = np.zeros((n_specs, N_STATS))
    counts = np.zeros(n_specs, dtype=np.int64)
    for s in range(n_specs):
        rows = trades[offsets[s] : offsets[s] + capacity[s]]
        out = Outputs(rows, equity[s], session_equity[s], stats[s])
        counts[s] = simulate(market, _strategy(strategies, s), config, rates, start, end, out)
    return BatchOutputs(trades, offsets, counts, equity, session_equity, stats)


@njit(cache=True, nogil=True)
def _strategy(strategies: Strategies, s: int) -> Strategy:
    """Spec `s` of a batch, its shared arrays looked up in their pools."""
    return Strategy(
        strategies.entries[s],
        strategies.stop_offsets[strategies.stop_row[s]],
        strategies.target_offsets[strategies.target_row[s]],
        strategies.trail_offsets[strategies.trail_row[s]],
        strategies.square_off_bars[strategies.square_off_row[s]],
        strategies.rules[s],
    )


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


@njit(cache=True, nogil=True, inline="always")
def _mark_flat(
    market: Market, out: Outputs, book: Book, start: int, first: int, last: int, cash: float
) -> Book:
    """Bars first..last close flat: the equity is the cash."""
    session, first_session = market.session, market.session[start]
    if out.equity.shape[0] > 0:
        out.equity[first - start : last - start + 1] = cash
    out.session_equity[session[first] - first_session : session[last] - first_session + 1] = cash
    return _mark_book(book, cash, first, last, session[first], session[last])


@njit(cache=True, nogil=True, inline="always")
def _mark_held(
    market: Market,
    out: Outputs,
    book: Book,
    start: int,
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
    close, session, blocks = market.close, market.session, market.blocks
    equity_out, session_equity = out.equity, out.session_equity
    first_session = session[start]
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
            if cash + held * (best - fill) < book.peak:
                book = _mark_book(book, cash + held * (worst - fill), bar, block_last, 0, 0)
                for ends_session in (session_break - 1, block_last):
                    if ends_session >= bar:
                        slot = session[ends_session] - first_session
                        session_equity[slot] = cash + held * (close[ends_session] - fill)
                if keep_equity:
                    for index in range(bar, block_last + 1):
                        equity_out[index - start] = cash + held * (close[index] - fill)
                bar += BLOCK
                continue
        equity = cash + held * (close[bar] - fill)
        if keep_equity:
            equity_out[bar - start] = equity
        session_equity[session[bar] - first_session] = equity
        book = _mark_book(book, equity, bar, bar, session[bar], session[bar])
        bar += 1
    return book


@njit(cache=True, nogil=True, inline="always")
def _mark_book(
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
    if equity >= book.peak:
        longest, sessions = book.longest_bars, book.longest_sessions
        if book.in_drawdown and first_bar - book.peak_bar > longest:
            longest = first_bar - book.peak_bar
            sessions = first_session - book.peak_session
        return Book(
            equity,
            last_bar,
            last_session,
            False,
            book.max_drawdown,
            book.max_drawdown_fraction,
            longest,
            sessions,
        )
    drawdown = book.peak - equity
    max_drawdown, max_fraction = book.max_drawdown, book.max_drawdown_fraction
    if drawdown > max_drawdown:
        max_drawdown = drawdown
    if drawdown > max_fraction * book.peak:
        max_fraction = drawdown / book.peak
    return Book(
        book.peak,
        book.peak_bar,
        book.peak_session,
        True,
        max_drawdown,
        max_fraction,
        book.longest_bars,
        book.longest_sessions,
    )
