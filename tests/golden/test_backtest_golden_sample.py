"""Full stats and trade lists pinned on a committed sample (3,000 synthetic NIFTY 5m bars).

Like backtesting.py's GOOG.csv check: any change in fills, sizing, costs or metrics shows up
here as a diff against tests/golden/expected/*.json. Regenerate only on purpose:
`pytest tests/golden --update-golden` (or TRADELOOP_UPDATE_GOLDEN=1), then review the diff.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import talib

from golden.backtest_frames import GOLDEN_COSTS, load_sample
from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest import BacktestConfig, BacktestResult, run_backtest
from tradeloop.domain.strategy.signals import Signals

EXPECTED = Path(__file__).resolve().parent / "expected"
SQUARE_OFF = 15 * 60 + 15


def rsi_reversion_long(candles: pl.DataFrame) -> tuple[Signals, BacktestConfig]:
    """RSI(14) crosses below 30 → long; stop 0.3%, target 1.5R, break-even after 0.75R, square-off
    15:15; risk sizing 1% of compounding equity in NIFTY lots, futures charges, 2 bps slippage."""
    close = candles["close"].to_numpy()
    rsi = talib.RSI(close, 14)
    entry = np.zeros(len(close), dtype=bool)
    entry[1:] = (rsi[1:] < 30) & (rsi[:-1] >= 30)
    n = len(close)
    signals = Signals(
        spec_id="golden_rsi_reversion_long",
        direction=1,
        entry=entry,
        stop_offset=np.zeros(n),
        stop_fraction=0.003,
        target_offset=np.zeros(n),
        target_r=1.5,
        break_even_r=0.75,
        square_off_minute=SQUARE_OFF,
    )
    return signals, BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE, risk_per_trade_pct=1.0)


def ema_breakdown_short(candles: pl.DataFrame) -> tuple[Signals, BacktestConfig]:
    """Close crosses below EMA(50) → short; stop 1.5 ATR(14), no target, trailing 2 ATR, exit
    after 24 bars, square-off 15:15; fixed capital (no compounding), 1 bp + 1 tick slippage."""
    close = candles["close"].to_numpy()
    high = candles["high"].to_numpy()
    low = candles["low"].to_numpy()
    ema = talib.EMA(close, 50)
    atr = talib.ATR(high, low, close, 14)
    entry = np.zeros(len(close), dtype=bool)
    entry[1:] = (close[1:] < ema[1:]) & (close[:-1] >= ema[:-1])
    entry &= np.isfinite(atr)
    n = len(close)
    signals = Signals(
        spec_id="golden_ema_breakdown_short",
        direction=-1,
        entry=entry,
        stop_offset=np.nan_to_num(1.5 * atr),
        stop_fraction=0.0,
        target_offset=np.full(n, np.nan),
        trail_offset=np.nan_to_num(2.0 * atr, nan=np.inf),
        max_bars_held=24,
        square_off_minute=SQUARE_OFF,
    )
    config = BacktestConfig.for_symbol(
        "NIFTY", NIFTY_FUTURE, compounding=False, slippage_bps=1.0, slippage_ticks=1.0
    )
    return signals, config


SCENARIOS: dict[str, Callable[[pl.DataFrame], tuple[Signals, BacktestConfig]]] = {
    "rsi_reversion_long": rsi_reversion_long,
    "ema_breakdown_short": ema_breakdown_short,
}


def snapshot(result: BacktestResult) -> dict[str, Any]:
    trades = result.trades.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        for name in ("signal_time", "entry_time", "exit_time")
    ).with_columns(pl.col("exit_reason").cast(pl.String))
    return {
        "metrics": result.metrics.model_dump(mode="python"),
        "trades": trades.to_dicts(),
    }


def assert_matches(actual: Any, expected: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert set(actual) == set(expected), f"{where}: keys differ"
        for key, value in expected.items():
            assert_matches(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: {len(actual)} rows, pinned {len(expected)}"
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(left, right, f"{where}[{index}]")
    elif isinstance(expected, float) and not isinstance(actual, str):
        if math.isinf(expected) or actual is None or expected is None:
            assert actual == expected, where
        else:
            assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_sample_stats_and_trades_match_pinned(name: str, update_golden: bool) -> None:
    candles = load_sample()
    signals, config = SCENARIOS[name](candles)
    actual = snapshot(run_backtest(signals, candles, config, GOLDEN_COSTS))
    path = EXPECTED / f"{name}.json"
    if update_golden:
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"rewrote {path.name}")
    assert path.exists(), f"{path} is missing: run `pytest tests/golden --update-golden`"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual["metrics"]["trades"] >= 10, "the scenario should trade enough to pin anything"
    assert_matches(json.loads(json.dumps(actual)), expected, name)
