"""Every charge of the bundled futures table (2024-10-01) on known trades, worked by hand.

One NIFTY lot (65 units) bought at 24,000 and sold at the 1% target 24,240, no slippage:

    entry (buy), turnover 24,000 × 65 = 15,60,000
      brokerage  min(20, 0.03% × 15,60,000 = 468)      = 20
      STT        0 on the buy side                       = 0
      exchange   0.00173% × 15,60,000                    = 26.988
      SEBI       10 per crore × 15,60,000 / 1e7          = 1.56
      stamp      0.002% × 15,60,000                      = 31.2
      GST        18% × (20 + 26.988 + 1.56 = 48.548)     = 8.73864
    exit (sell), turnover 24,240 × 65 = 15,75,600
      brokerage  min(20, 472.68)                         = 20
      STT        0.02% × 15,75,600                       = 315.12
      exchange   0.00173% × 15,75,600                    = 27.25788
      SEBI       1.5756
      stamp      0 on the sell side
      GST        18% × (20 + 27.25788 + 1.5756 = 48.83348) = 8.7900264
    round trip: brokerage 40, STT 315.12, exchange 54.24588, SEBI 3.1356, stamp 31.2,
      GST 17.5286664 → 461.2301464; gross 65 × 240 = 15,600 → net 15,138.7698536.
"""

from __future__ import annotations

import pytest

from golden.backtest_frames import GOLDEN_COSTS, candles, minute_bars, signals
from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest import BacktestConfig, run_backtest

START = "2025-01-06 09:15"
ONE_LOT = BacktestConfig.for_symbol(
    "NIFTY", NIFTY_FUTURE, sizing="fixed_quantity", quantity=65, slippage_bps=0.0, apply_costs=True
)


def _trade(rows: list[tuple[float, float, float, float]], config: BacktestConfig, **rules: object):  # type: ignore[no-untyped-def]
    frame = candles(minute_bars(START, rows))
    result = run_backtest(signals(frame.height, [0], **rules), frame, config, GOLDEN_COSTS)  # type: ignore[arg-type]
    assert result.trades.height == 1
    return result, result.trades.row(0, named=True)


def test_each_cost_component_on_a_long_round_trip() -> None:
    rows = [(24000, 24010, 23990, 24000), (24000, 24250, 23990, 24200)]
    result, trade = _trade(rows, ONE_LOT, stop_fraction=0.01, target_fraction=0.01)
    assert (trade["entry_price"], trade["exit_price"]) == (24000.0, 24240.0)
    assert trade["exit_reason"] == "target"
    expected = {
        "brokerage": 40.0,
        "stt": 315.12,
        "exchange": 54.24588,
        "sebi": 3.1356,
        "stamp_duty": 31.2,
        "gst": 17.5286664,
        "costs": 461.2301464,
        "gross_pnl": 15600.0,
        "net_pnl": 15138.7698536,
    }
    for column, value in expected.items():
        assert trade[column] == pytest.approx(value, abs=1e-7), column
    assert result.metrics.costs == pytest.approx(461.2301464, abs=1e-7)
    assert result.metrics.end_equity == pytest.approx(1_000_000 + 15138.7698536, abs=1e-6)
    assert result.cost_table_version == "2024-10-01"


def test_short_pays_stt_on_entry_and_stamp_duty_on_exit() -> None:
    """Short 65 at 24,000, covered at the 1% target 23,760.

    entry (sell) 15,60,000: brokerage 20, STT 0.02% = 312, exchange 26.988, SEBI 1.56,
      stamp 0, GST 8.73864
    exit (buy) 23,760 × 65 = 15,44,400: brokerage 20, STT 0, exchange 26.71812, SEBI 1.5444,
      stamp 0.002% = 30.888, GST 18% × 48.26252 = 8.6872536
    total = 40 + 312 + 53.70612 + 3.1044 + 30.888 + 17.4258936 = 457.1244136
    """
    rows = [(24000, 24010, 23990, 24000), (24000, 24010, 23750, 23800)]
    _, trade = _trade(rows, ONE_LOT, direction=-1, stop_fraction=0.01, target_fraction=0.01)
    assert trade["exit_price"] == 23760.0
    assert trade["stt"] == pytest.approx(312.0)
    assert trade["stamp_duty"] == pytest.approx(30.888)
    assert trade["costs"] == pytest.approx(457.1244136, abs=1e-7)
    assert trade["gross_pnl"] == pytest.approx(15600.0)


def test_kernel_charges_equal_the_shared_cost_model() -> None:
    """The kernel's charges are those of `costs.order_costs` for the same two orders."""
    rows = [(24000, 24010, 23990, 24000), (24000, 24250, 23990, 24200)]
    _, trade = _trade(rows, ONE_LOT, stop_fraction=0.01, target_fraction=0.01)
    table = GOLDEN_COSTS
    entry = table.order_costs(ONE_LOT.instrument_kind, True, 24000.0, 65)
    exit_ = table.order_costs(ONE_LOT.instrument_kind, False, 24240.0, 65)
    for name, value in (entry + exit_).as_dict().items():
        column = "costs" if name == "total" else name
        assert trade[column] == pytest.approx(value, rel=1e-12), name


def test_slippage_moves_market_fills_against_the_trader_but_not_target_fills() -> None:
    """2 bps + 1 tick (0.05): entry 24,000 + 4.80 + 0.05 = 24,004.85. Target 1% of the signal's
    close 24,000 = 24,240, a resting limit order: filled at its level, no slippage. Slippage
    paid = 65 × 4.85 = 315.25 (already inside the prices)."""
    config = ONE_LOT.model_copy(
        update={"slippage_bps": 2.0, "slippage_ticks": 1.0, "apply_costs": False}
    )
    rows = [(24000, 24010, 23990, 24000), (24000, 24260, 23990, 24200)]
    _, trade = _trade(rows, config, stop_fraction=0.01, target_fraction=0.01)
    assert trade["entry_price"] == pytest.approx(24004.85)
    assert trade["exit_price"] == pytest.approx(24240.0)
    assert trade["slippage"] == pytest.approx(65 * 4.85)


def test_levels_measured_from_the_fill_move_with_its_slippage() -> None:
    """levels_from='fill' (the peers' convention): the target is 1% of the fill, 24,004.85 ×
    1.01 = 24,244.8985, on the 0.05 tick toward the entry: 24,244.85."""
    config = ONE_LOT.model_copy(
        update={
            "slippage_bps": 2.0,
            "slippage_ticks": 1.0,
            "apply_costs": False,
            "levels_from": "fill",
        }
    )
    rows = [(24000, 24010, 23990, 24000), (24000, 24260, 23990, 24200)]
    _, trade = _trade(rows, config, stop_fraction=0.01, target_fraction=0.01)
    assert trade["entry_price"] == pytest.approx(24004.85)
    assert trade["exit_price"] == pytest.approx(24244.85)


def test_stop_fill_pays_slippage_below_its_level() -> None:
    """Entry 24,000 + 2 bps = 24,004.80; stop 1% below the signal's close 24,000 = 23,760; a
    stop-market order fills 2 bps below its level: 23,760 × (1 − 0.0002) = 23,755.248."""
    config = ONE_LOT.model_copy(update={"slippage_bps": 2.0, "apply_costs": False})
    rows = [(24000, 24010, 23990, 24000), (24000, 24010, 23700, 23800)]
    _, trade = _trade(rows, config, stop_fraction=0.01, target_fraction=0.01)
    assert trade["exit_reason"] == "stop"
    assert trade["initial_stop"] == pytest.approx(23760.0)
    assert trade["exit_price"] == pytest.approx(23760.0 * (1 - 0.0002))
    assert trade["slippage"] == pytest.approx(65 * (4.8 + 23760.0 * 0.0002))


def test_costs_off_charges_nothing() -> None:
    config = ONE_LOT.model_copy(update={"apply_costs": False})
    rows = [(24000, 24010, 23990, 24000), (24000, 24250, 23990, 24200)]
    result, trade = _trade(rows, config, stop_fraction=0.01, target_fraction=0.01)
    assert trade["costs"] == 0.0
    assert result.cost_table_version == "none"
