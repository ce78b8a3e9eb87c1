"""Compiled fills: a signal's entry at the next open, a position's exit, and their charges.

Charges follow `domain/costs.py` exactly (same formulas, same order of operations); the
risk sizing is `risk/sizing.py`'s `risk_quantity`, the very function the risk manager calls.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradeloop.domain.backtest import _numba_cache  # noqa: F401  (before any @njit)
from tradeloop.domain.backtest.layout import (
    C_APPLY_COSTS,
    C_FIXED_SIZING,
    C_LEVELS_FROM_SIGNAL,
    C_LOT_SIZE,
    C_MAX_NOTIONAL_FRACTION,
    C_QUANTITY,
    C_RISK_FRACTION,
    C_SLIPPAGE_BPS,
    C_SLIPPAGE_TICKS,
    C_TICK_SIZE,
    N_TRADE_FIELDS,
    OPENED,
    P_DIRECTION,
    P_STOP_FRACTION,
    P_STOP_SCALE,
    P_TARGET_FRACTION,
    P_TARGET_R,
    R_BROKERAGE_FLAT,
    R_BROKERAGE_RATE,
    R_EXCHANGE,
    R_GST,
    R_SEBI_PER_CRORE,
    R_STAMP_BUY,
    R_STT_BUY,
    R_STT_SELL,
    SKIPPED_INVALID_STOP,
    SKIPPED_ZERO_LOT,
    T_BARS_HELD,
    T_BROKERAGE,
    T_COSTS,
    T_ENTRY_BAR,
    T_ENTRY_PRICE,
    T_EXCHANGE,
    T_EXIT_BAR,
    T_EXIT_PRICE,
    T_GROSS,
    T_GST,
    T_INITIAL_STOP,
    T_NET,
    T_QUANTITY,
    T_R,
    T_REASON,
    T_RISK,
    T_SEBI,
    T_SIGNAL_BAR,
    T_SLIPPAGE,
    T_STAMP,
    T_STT,
    T_TARGET,
    TARGET,
    Exit,
    Market,
    Strategy,
)
from tradeloop.domain.price_ticks import round_to_tick
from tradeloop.domain.risk.sizing import risk_quantity


@njit(cache=True, nogil=True)
def slippage(price: float, config: np.ndarray) -> float:
    return price * config[C_SLIPPAGE_BPS] * 1e-4 + config[C_SLIPPAGE_TICKS] * config[C_TICK_SIZE]


@njit(cache=True, nogil=True)
def _charge(
    rates: np.ndarray, is_buy: bool, price: float, quantity: float, record: np.ndarray
) -> float:
    """Add one order's charges to `record` (same formulas and order as `costs.order_costs`)."""
    turnover = abs(price * quantity)
    brokerage = min(rates[R_BROKERAGE_FLAT], rates[R_BROKERAGE_RATE] * turnover)
    stt = (rates[R_STT_BUY] if is_buy else rates[R_STT_SELL]) * turnover
    exchange = rates[R_EXCHANGE] * turnover
    sebi = rates[R_SEBI_PER_CRORE] * turnover / 1e7
    stamp = rates[R_STAMP_BUY] * turnover if is_buy else 0.0
    gst = rates[R_GST] * (brokerage + exchange + sebi)
    record[T_BROKERAGE] += brokerage
    record[T_STT] += stt
    record[T_EXCHANGE] += exchange
    record[T_SEBI] += sebi
    record[T_STAMP] += stamp
    record[T_GST] += gst
    return brokerage + stt + exchange + sebi + stamp + gst


@njit(cache=True, nogil=True)
def estimated_charges(rates: np.ndarray, is_buy: bool, price: float, quantity: float) -> float:
    scratch = np.zeros(N_TRADE_FIELDS)
    return _charge(rates, is_buy, price, quantity, scratch)


@njit(cache=True, nogil=True, inline="always")
def open_position(
    market: Market,
    strategy: Strategy,
    config: np.ndarray,
    rates: np.ndarray,
    signal_bar: int,
    base: float,
    record: np.ndarray,
) -> int:
    """Fill the signal of `signal_bar` at the next bar's open into `record` (T_COSTS = entry
    charges).

    The fill is the open plus slippage; stop, target and size all come from the fill; `base`
    is the capital the risk sizing uses. Returns OPENED or why the signal was skipped.
    """
    rules = strategy.rules
    direction = rules[P_DIRECTION]
    bar = signal_bar + 1
    reference = market.open[bar]
    price = reference + direction * slippage(reference, config)
    # The levels and the size are measured from the signal's close (the order path's last
    # price when the order goes out) or from the fill (the peers' convention).
    anchor = market.close[signal_bar] if config[C_LEVELS_FROM_SIGNAL] > 0 else price
    risk = strategy.stop_offset[signal_bar] * rules[P_STOP_SCALE] + rules[P_STOP_FRACTION] * anchor
    reward = (
        strategy.target_offset[signal_bar]
        + rules[P_TARGET_FRACTION] * anchor
        + rules[P_TARGET_R] * risk
    )
    if not (risk > 0.0 and math.isfinite(risk)) or reward <= 0.0:
        return SKIPPED_INVALID_STOP
    stop = anchor - direction * risk
    if config[C_FIXED_SIZING] > 0:
        quantity = config[C_QUANTITY]
    else:
        lot_size = int(config[C_LOT_SIZE])
        if base * config[C_RISK_FRACTION] / risk / lot_size >= 2.0**53:
            return SKIPPED_INVALID_STOP  # a stop a hair from the fill: no sane size exists
        quantity = float(
            risk_quantity(
                base,
                config[C_RISK_FRACTION],
                anchor,
                stop,
                lot_size,
                base * config[C_MAX_NOTIONAL_FRACTION],
            )
        )
    if quantity <= 0.0:
        return SKIPPED_ZERO_LOT
    record[:] = 0.0
    record[T_SIGNAL_BAR] = signal_bar
    record[T_ENTRY_BAR] = bar
    record[T_ENTRY_PRICE] = price
    record[T_QUANTITY] = quantity
    # The levels go out on the tick, each rounded the way that adds no risk (the stop toward
    # the position, the target toward the entry), as the order path rounds them.
    tick = config[C_TICK_SIZE]
    record[T_INITIAL_STOP] = round_to_tick(stop, tick, int(direction))
    target = anchor + direction * reward  # NaN reward: no target
    if not math.isnan(target):
        target = round_to_tick(target, tick, -int(direction))
    record[T_TARGET] = target
    record[T_RISK] = risk
    record[T_SLIPPAGE] = quantity * (price - reference) * direction
    if config[C_APPLY_COSTS] > 0:
        record[T_COSTS] = _charge(rates, direction > 0, price, quantity, record)
    return OPENED


@njit(cache=True, nogil=True)
def close_position(
    record: np.ndarray, exit_: Exit, direction: float, config: np.ndarray, rates: np.ndarray
) -> float:
    """Fill the exit into `record`; returns the cash it brings (gross P&L − exit charges)."""
    bar, reason, reference, at_open = exit_
    # A target filled at its level is a resting limit order: no slippage.
    slip = 0.0 if reason == TARGET and not at_open else slippage(reference, config)
    price = reference - direction * slip
    quantity = record[T_QUANTITY]
    exit_costs = 0.0
    if config[C_APPLY_COSTS] > 0:
        exit_costs = _charge(rates, direction < 0, price, quantity, record)
    gross = direction * quantity * (price - record[T_ENTRY_PRICE])
    costs = (
        record[T_BROKERAGE]
        + record[T_STT]
        + record[T_EXCHANGE]
        + record[T_SEBI]
        + record[T_STAMP]
        + record[T_GST]
    )
    record[T_EXIT_BAR] = bar
    record[T_EXIT_PRICE] = price
    record[T_REASON] = reason
    record[T_GROSS] = gross
    record[T_SLIPPAGE] += quantity * slip
    record[T_COSTS] = costs
    record[T_NET] = gross - costs
    record[T_R] = (gross - costs) / (quantity * record[T_RISK])
    record[T_BARS_HELD] = bar - record[T_ENTRY_BAR] + (0 if at_open else 1)
    return gross - exit_costs
