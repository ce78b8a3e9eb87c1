"""The compiled kernel against a plain-Python reading of docs/backtesting.md, trade for trade.

The reference is written trade by trade (find the next signal, fill it, scan for its exit),
not bar by bar like the kernel, and charges through the shared `costs.order_costs`: two
independent readings of the same rules that must agree on random markets and rules.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from test_backtest_invariants import Case, cases

from tradeloop.domain.backtest import BacktestConfig, run_backtest
from tradeloop.domain.costs import CostBreakdown, CostTable
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.session import OPEN_MINUTE
from tradeloop.domain.risk.sizing import risk_quantity
from tradeloop.domain.strategy.signals import Signals

COSTS = CostTable.bundled()


def on_grid(price: float, tick: float, direction: int) -> float:
    """`price` on the tick grid, up (direction > 0) or down, unless already on it: written out
    here with `decimal` (not the shared function) as the independent reading."""
    from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

    units = price / tick
    if abs(units - round(units)) <= 1e-6:
        return float(Decimal(round(units)) * Decimal(str(tick)))
    rounding = ROUND_CEILING if direction > 0 else ROUND_FLOOR
    whole = Decimal(float(units)).to_integral_value(rounding=rounding)
    return float(whole * Decimal(str(tick)))


TABLE = CostTable.bundled()


def reference_trades(
    signals: Signals, market: PriceArrays, config: BacktestConfig
) -> tuple[list[dict[str, Any]], float]:
    d = signals.direction
    n = len(market)
    square_off = signals.square_off_minute - OPEN_MINUTE if signals.square_off_minute >= 0 else None

    def slip(price: float) -> float:
        return price * config.slippage_bps * 1e-4 + config.slippage_ticks * config.tick_size

    def charges(is_buy: bool, price: float, quantity: float) -> CostBreakdown:
        if not config.apply_costs:
            return CostBreakdown()
        return TABLE.order_costs(config.instrument_kind, is_buy, price, quantity)

    cash = config.capital
    trades: list[dict[str, Any]] = []
    t = 0
    while t < n - 1:
        fill_bar = t + 1
        if not signals.entry[t]:
            t += 1
            continue
        if square_off is not None and (
            market.session[fill_bar] != market.session[t]
            or market.minute_of_session[fill_bar] >= square_off
        ):
            t += 1
            continue
        fill = market.open[fill_bar] + d * slip(market.open[fill_bar])
        # Levels and size from the signal's close (the order path's price) or from the fill.
        anchor = market.close[t] if config.levels_from == "signal" else fill
        risk = signals.stop_offset[t] * signals.stop_scale + signals.stop_fraction * anchor
        reward = signals.target_offset[t] + signals.target_fraction * anchor
        reward += signals.target_r * risk
        if not (risk > 0 and math.isfinite(risk)) or reward <= 0:
            t += 1
            continue
        stop = anchor - d * risk
        if config.sizing == "fixed_quantity":
            quantity = config.quantity
        else:
            base = cash if config.compounding else config.capital
            quantity = risk_quantity(
                base, config.risk_per_trade_pct / 100, anchor, stop, config.lot_size
            )
        if quantity <= 0:
            t += 1
            continue
        entry_costs = charges(d > 0, fill, quantity)
        target = anchor + d * reward
        # Levels on the tick, each rounded the way that adds no risk.
        tick = config.tick_size
        stop = on_grid(stop, tick, d)
        if not math.isnan(target):
            target = on_grid(target, tick, -d)
        initial_risk = abs(fill - stop)  # R of the break-even rule: the fill to the stop
        kind = "stop"
        break_even_done = False
        break_even = (entry_costs.total + charges(d < 0, fill, quantity).total) / quantity
        break_even += slip(fill)
        exit_bar, reference, reason, at_open = -1, 0.0, "", False
        gapped = config.stops_from_entry_bar and d * (fill - stop) <= 0
        for i in range(fill_bar, n):
            if gapped:  # filled through the stop: it goes off on the bar's worse extreme
                worst = market.low[i] if d > 0 else market.high[i]
                exit_bar, reference, reason = i, worst, "stop"
                break
            if i > fill_bar:
                opening = market.open[i]
                if d * (opening - stop) <= 0:
                    exit_bar, reference, reason, at_open = i, opening, kind, True
                elif d * (opening - target) >= 0:
                    exit_bar, reference, reason, at_open = i, opening, "target", True
                elif square_off is not None and (
                    market.minute_of_session[i] >= square_off
                    or market.session[i] != market.session[fill_bar]
                ):
                    exit_bar, reference, reason, at_open = i, opening, "square_off", True
                elif signals.max_bars_held and i - fill_bar >= signals.max_bars_held:
                    exit_bar, reference, reason, at_open = i, opening, "max_bars", True
                if exit_bar >= 0:
                    break
            if i > fill_bar or config.stops_from_entry_bar:
                worst = market.low[i] if d > 0 else market.high[i]
                best = market.high[i] if d > 0 else market.low[i]
                if d * (worst - stop) <= 0:
                    exit_bar, reference, reason = i, stop, kind
                    break
                if d * (best - target) >= 0:
                    exit_bar, reference, reason = i, target, "target"
                    break
            if i == n - 1:
                exit_bar, reference, reason = i, market.close[i], "end_of_data"
                break
            close = market.close[i]
            if signals.has_trailing_stop:
                offset = signals.trail_offset[i] * signals.trail_scale
                trail = close - d * (offset + signals.trail_fraction * close)
                if d * (trail - stop) > 0:
                    stop, kind = on_grid(trail, tick, d), "trailing_stop"
            reached = d * (close - fill) >= signals.break_even_r * initial_risk  # NaN: False
            if reached and not break_even_done:
                break_even_done = True
                if d * (fill + d * break_even - stop) > 0:
                    stop, kind = on_grid(fill + d * break_even, tick, d), "break_even_stop"
        exit_price = (
            reference if reason == "target" and not at_open else reference - d * slip(reference)
        )
        costs = entry_costs + charges(d < 0, exit_price, quantity)
        gross = d * quantity * (exit_price - fill)
        cash += gross - costs.total
        trades.append(
            {
                "entry_bar": fill_bar,
                "exit_bar": exit_bar,
                "exit_reason": reason,
                "entry_price": fill,
                "exit_price": exit_price,
                "quantity": quantity,
                "net_pnl": gross - costs.total,
            }
        )
        t = exit_bar
    return trades, cash


@settings(max_examples=100, deadline=None)
@given(case=cases())
def test_kernel_agrees_with_the_reference_reading_of_the_rules(case: Case) -> None:
    result = run_backtest(case.signals, case.arrays, case.config, COSTS)
    expected, end_cash = reference_trades(case.signals, case.arrays, case.config)
    actual = result.trades.select(list(expected[0]) if expected else ["entry_bar"]).to_dicts()
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-6), (key, got, want)
            else:
                assert got[key] == value, (key, got, want)
    assert math.isclose(result.metrics.end_equity, end_cash, rel_tol=1e-9)
    assert np.isfinite(result.metrics.max_drawdown)
