"""Hand-worked fill rules, one test per rule of docs/backtesting.md.

Unless a test says otherwise: long, 10 units, no charges, no slippage, stop 1% and target 2% of
the fill, 1m bars on Monday 2025-01-06 (IST), signal on bar 0 so the entry fills at bar 1's open.
"""

from __future__ import annotations

import pytest

from golden.backtest_frames import GOLDEN_COSTS, NO_COSTS, candles, minute_bars, signals
from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest import BacktestConfig, run_backtest
from tradeloop.domain.backtest.result import BacktestResult
from tradeloop.domain.market.session import SQUARE_OFF_MINUTE

DAY = "2025-01-06"


def _run(
    rows: list[tuple[float, float, float, float]],
    config: BacktestConfig = NO_COSTS,
    start: str = f"{DAY} 09:15",
    **rules: object,
) -> BacktestResult:
    frame = candles(minute_bars(start, rows))
    rules.setdefault("entries", [0])
    entries = rules.pop("entries")
    return run_backtest(signals(frame.height, entries, **rules), frame, config, GOLDEN_COSTS)  # type: ignore[arg-type]


def _only_trade(result: BacktestResult) -> dict[str, object]:
    assert result.trades.height == 1, result.trades
    return result.trades.row(0, named=True)


def test_stop_loss_hit_before_target_in_same_bar() -> None:
    """Entry 100 → stop 99, target 102. Bar 1 (the entry bar) trades 97..103, touching both:
    the stop is taken first. P&L = 10 × (99 − 100) = −10, one bar held."""
    result = _run([(100, 100.5, 99.5, 100), (100, 103, 97, 100), (100, 100.5, 99.5, 100)])
    trade = _only_trade(result)
    assert trade["entry_price"] == 100.0
    assert trade["exit_price"] == 99.0
    assert trade["exit_reason"] == "stop"
    assert trade["net_pnl"] == pytest.approx(-10.0)
    assert trade["r_multiple"] == pytest.approx(-1.0)
    assert trade["bars_held"] == 1


def test_stops_from_the_bar_after_entry_when_configured() -> None:
    """Same bars, stops_from_entry_bar=False: bar 1's 97..103 is not checked. Bar 2 trades
    99.5..102.5: only the target (102) is touched → exit 102, +20, two bars held."""
    config = NO_COSTS.model_copy(update={"stops_from_entry_bar": False})
    result = _run(
        [(100, 100.5, 99.5, 100), (100, 103, 97, 100), (100, 102.5, 99.5, 102)], config=config
    )
    trade = _only_trade(result)
    assert (trade["exit_price"], trade["exit_reason"]) == (102.0, "target")
    assert trade["net_pnl"] == pytest.approx(20.0)
    assert trade["bars_held"] == 2


def test_gap_through_stop_fills_at_open() -> None:
    """Entry 100, stop 99. Bar 2 opens at 98, below the stop: the exit fills at the open 98
    (worse than the stop), not at 99. P&L = 10 × (98 − 100) = −20, R = −2."""
    result = _run([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (98, 98.5, 97.5, 98)])
    trade = _only_trade(result)
    assert (trade["exit_price"], trade["exit_reason"]) == (98.0, "stop")
    assert trade["r_multiple"] == pytest.approx(-2.0)
    assert trade["bars_held"] == 1


def test_gap_through_target_fills_at_open() -> None:
    """Entry 100, target 102. Bar 2 opens at 103, above the target: the exit fills at the
    open 103. P&L = 10 × 3 = +30."""
    result = _run([(100, 100.5, 99.5, 100), (100, 100.5, 99.5, 100), (103, 103.5, 102.5, 103)])
    trade = _only_trade(result)
    assert (trade["exit_price"], trade["exit_reason"]) == (103.0, "target")
    assert trade["net_pnl"] == pytest.approx(30.0)


def test_trailing_stop_ratchets_on_closes_and_never_loosens() -> None:
    """Initial stop 2% (98), no target, trail 1% of each close, effective from the next bar:

    bar 1 close 101   → trail 101 − 1.01 = 99.99 > 98       → stop 99.99
    bar 2 close 102.5 → trail 102.5 − 1.025 = 101.475       → stop 101.5 (on the 0.05 tick,
                                                              rounded toward the position)
    bar 3 close 101.9 → trail 101.9 − 1.019 = 100.881 lower → stop stays 101.5
    bar 4 low 101.0 <= 101.5 → exit at 101.5, trailing_stop, four bars held.
    Bar 2's high 103 never moves the stop: only closes do. (Bar 1's 99.99 is 100.0 on the tick.)
    """
    rows = [
        (100, 100.2, 99.8, 100),
        (100, 101.2, 99.5, 101),
        (101, 103, 100.5, 102.5),
        (102, 102.2, 101.8, 101.9),
        (101.6, 101.7, 101.0, 101.2),
        (101.2, 101.3, 101.1, 101.2),
    ]
    result = _run(rows, stop_fraction=0.02, target_fraction=None, trail_fraction=0.01)
    trade = _only_trade(result)
    assert trade["exit_reason"] == "trailing_stop"
    assert trade["exit_price"] == pytest.approx(101.5)
    assert trade["bars_held"] == 4
    assert trade["initial_stop"] == pytest.approx(98.0)


def test_break_even_moves_stop_to_entry_plus_round_trip_costs() -> None:
    """100 units, futures charges on, no slippage, stop 1% (R = 1.00), no target, BE after 1R.

    Entry charges (buy 100 @ 100, turnover 10,000): brokerage min(20, 3.00) = 3.00, exchange
    0.173, SEBI 0.01, stamp 0.20, GST 18% × 3.183 = 0.57294 → 3.95594.
    Estimated exit charges (sell 100 @ 100): brokerage 3.00, STT 2.00, exchange 0.173, SEBI
    0.01, GST 0.57294 → 5.75594. Per unit: (3.95594 + 5.75594) / 100 = 0.0971188.
    Bar 2 closes at 101.2 >= 100 + 1 × 1R → from bar 3 the stop is 100.0971188, on the 0.05
    tick toward the position 100.1; bar 3's low 100.05 touches it: exit at 100.1,
    break_even_stop, and the trade nets at least zero (less than a tick a unit above it).
    """
    config = BacktestConfig(
        sizing="fixed_quantity", quantity=100, slippage_bps=0.0, apply_costs=True
    )
    rows = [
        (100, 100.2, 99.8, 100),
        (100, 100.8, 99.5, 100.6),
        (100.6, 101.3, 100.5, 101.2),
        (101, 101.1, 100.05, 100.5),
    ]
    result = _run(rows, config=config, target_fraction=None, break_even_r=1.0)
    trade = _only_trade(result)
    assert trade["exit_reason"] == "break_even_stop"
    assert trade["exit_price"] == pytest.approx(100.1, abs=1e-9)
    assert 0.0 <= trade["net_pnl"] < 100 * 0.05


def test_break_even_not_reached_keeps_initial_stop() -> None:
    """Closes stay below 101 (entry + 1R): the stop stays at 99 and is hit on bar 3."""
    rows = [
        (100, 100.2, 99.8, 100),
        (100, 100.8, 99.5, 100.6),
        (100.6, 100.99, 100.5, 100.9),
        (100.5, 100.6, 98.9, 99.0),
    ]
    trade = _only_trade(_run(rows, target_fraction=None, break_even_r=1.0))
    assert (trade["exit_reason"], trade["exit_price"]) == ("stop", 99.0)


def test_square_off_exits_at_open_of_first_bar_at_square_off_time() -> None:
    """Square-off 15:15. Signal on the 15:12 bar → entry 15:13 at 100. Nothing is hit; the
    15:15 bar's open (100.4) is the exit: square_off, two bars held (15:13 and 15:14)."""
    rows = [(100, 100.2, 99.8, 100)] * 3 + [(100.4, 100.5, 100.3, 100.4)] * 3
    result = _run(rows, start=f"{DAY} 15:12", square_off_minute=15 * 60 + 15)
    trade = _only_trade(result)
    assert trade["exit_reason"] == "square_off"
    assert trade["exit_price"] == 100.4
    assert trade["bars_held"] == 2


def test_entry_whose_fill_is_at_square_off_is_skipped_and_counted() -> None:
    """A signal on the 15:14 bar would fill at 15:15, the square-off time: not taken. A signal
    on the session's last bar would fill tomorrow: not taken either."""
    flat = (100.0, 100.2, 99.8, 100.0)
    tomorrow = minute_bars("2025-01-07 09:15", [flat])
    frame = candles(minute_bars(f"{DAY} 15:14", [flat] * 16) + tomorrow)
    result = run_backtest(
        signals(frame.height, [0, 15], square_off_minute=SQUARE_OFF_MINUTE),
        frame,
        NO_COSTS,
        GOLDEN_COSTS,
    )
    assert result.trades.height == 0
    assert result.metrics.skipped_after_square_off == 2


def test_end_of_data_closes_at_last_close() -> None:
    """Nothing is hit before the data ends: the trade closes at the last close (100.7),
    marked end_of_data, three bars held."""
    rows = [(100, 100.2, 99.8, 100), (100, 100.5, 99.8, 100.3), (100.3, 100.6, 100.1, 100.5)]
    rows.append((100.5, 100.8, 100.4, 100.7))
    trade = _only_trade(_run(rows))
    assert (trade["exit_reason"], trade["exit_price"]) == ("end_of_data", 100.7)
    assert trade["bars_held"] == 3


def test_max_bars_held_exits_at_next_open() -> None:
    """max_bars_held = 2: held on bars 1 and 2, exit at bar 3's open (100.6)."""
    rows = [(100, 100.2, 99.8, 100), (100, 100.5, 99.8, 100.3), (100.3, 100.6, 100.1, 100.5)]
    rows += [(100.6, 100.8, 100.4, 100.7), (100.7, 100.8, 100.6, 100.7)]
    trade = _only_trade(_run(rows, max_bars_held=2))
    assert (trade["exit_reason"], trade["exit_price"]) == ("max_bars", 100.6)
    assert trade["bars_held"] == 2


def test_signal_that_sizes_to_zero_lots_is_skipped_and_counted() -> None:
    """Capital 10,000 at 1% risk = 100 rupees; stop 1% of 24,000 = 240 a unit; one NIFTY lot
    (65 units) would risk 15,600: floor(100 / 240 / 65) = 0 lots → skipped."""
    config = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE, capital=10_000.0, apply_costs=False)
    rows = [(24000, 24010, 23990, 24000)] * 4
    result = _run(rows, config=config)
    assert result.trades.height == 0
    assert result.metrics.skipped_zero_lot == 1
    assert result.metrics.end_equity == 10_000.0


def test_risk_sizing_rounds_down_to_whole_lots() -> None:
    """Capital 10,00,000 at 1% = 10,000 rupees; stop 1% of 24,000 = 240 a unit:
    floor(10,000 / 240 / 65) = floor(0.641) → 0 lots; at 2% risk: floor(1.282) = 1 lot = 65."""
    config = BacktestConfig.for_symbol(
        "NIFTY", NIFTY_FUTURE, risk_per_trade_pct=2.0, apply_costs=False
    )
    rows = [(24000, 24010, 23990, 24000)] * 4
    trade = _only_trade(_run(rows, config=config))
    assert trade["quantity"] == 65


def test_signals_while_in_a_position_are_ignored() -> None:
    """Signals on bars 0, 1 and 2: the first enters at bar 1; the others arrive while the
    position is open and are ignored (counted), so there is exactly one trade."""
    rows = [(100, 100.2, 99.8, 100)] * 5
    result = _run(rows, entries=[0, 1, 2])
    assert result.trades.height == 1
    assert result.metrics.ignored_in_position == 2


def test_signal_on_last_bar_is_not_taken() -> None:
    rows = [(100, 100.2, 99.8, 100)] * 3
    result = _run(rows, entries=[2])
    assert result.trades.height == 0


def test_short_stop_and_target_mirror_the_long() -> None:
    """Short at 100: stop 101, target 98. Bar 2's high 101.5 hits the stop: −10."""
    rows = [(100, 100.2, 99.8, 100), (100, 100.5, 99.5, 100), (100.5, 101.5, 100.2, 101)]
    trade = _only_trade(_run(rows, direction=-1))
    assert (trade["direction"], trade["exit_reason"], trade["exit_price"]) == (
        "short",
        "stop",
        101.0,
    )
    assert trade["net_pnl"] == pytest.approx(-10.0)
