"""An option backtest pinned on the committed sample: examples/strategies/nifty_macd_puts_5m.json
(MACD cross down under the EMA → buy the ATM current-weekly NIFTY put) compiled on the 3,000
synthetic 5m bars, priced from the committed daily ATM IV of the same synthetic market.

Any change in contract choice, premium pricing, sizing in lots, option costs, expiry square-off
or metrics shows up as a diff against tests/golden/expected/nifty_macd_puts_5m.json.
Regenerate only on purpose: `pytest tests/golden --update-golden`, then review the diff.
"""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from golden.backtest_frames import GOLDEN_COSTS, load_sample
from golden.test_backtest_golden_sample import assert_matches
from tradeloop.domain.backtest import BacktestConfig, BacktestResult
from tradeloop.domain.backtest.options import run_option_backtest
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.options.chain import Smile
from tradeloop.domain.options.expiries import ExpiryCalendar, bundled_expiry_rules
from tradeloop.domain.options.market import OptionMarket
from tradeloop.domain.strategy.compiler import compile_spec
from tradeloop.domain.strategy.rules import OptionInstrument
from tradeloop.domain.strategy.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "strategies" / "nifty_macd_puts_5m.json"
IV_SAMPLE = ROOT / "tests" / "data" / "golden" / "nifty_iv_sample.csv"
EXPECTED = Path(__file__).resolve().parent / "expected" / "nifty_macd_puts_5m.json"

NIFTY_PUT = ContractFacts("NIFTY", ContractKind.PE, 75, 0.05, "tests")
"""The lot and tick the figures were recorded with: pinned, so a new lot revision or scrip
master never moves them."""

PINNED_TRADES = 6
"""The first trades pinned field by field (all of them are checked for the P&L identity)."""

TRADE_FIELDS = (
    "contract",
    "option_type",
    "strike",
    "expiry",
    "lots",
    "signal_time",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "quantity",
    "initial_stop",
    "target",
    "entry_iv",
    "entry_delta",
    "spot_at_entry",
    "spot_at_exit",
    "costs",
    "slippage",
    "gross_pnl",
    "net_pnl",
    "exit_reason",
)

METRICS = (
    "trades",
    "wins",
    "losses",
    "gross_pnl",
    "costs",
    "net_pnl",
    "end_equity",
    "return_pct",
    "max_drawdown",
    "max_drawdown_pct",
    "profit_factor",
    "expectancy",
    "exposure_pct",
    "skipped_zero_lot",
    "skipped_invalid_stop",
    "skipped_after_square_off",
    "ignored_in_position",
)


def option_market() -> OptionMarket:
    iv = pl.read_csv(IV_SAMPLE, schema_overrides={"day": pl.Date}).sort("day")
    return OptionMarket(
        symbol="NIFTY",
        strike_step=50.0,
        expiries=ExpiryCalendar(bundled_expiry_rules(), NSECalendar.default()),
        iv_days=iv["day"].to_numpy().astype("datetime64[D]"),
        iv=iv["iv"].to_numpy().astype(np.float64),
        rate=0.065,
        dividend_yield=0.0,
        smile=Smile(),
        expiry_square_off=time(15, 15),
    )


def run() -> BacktestResult:
    candles = load_sample()
    spec = load_spec(SPEC)
    assert isinstance(spec.instrument, OptionInstrument)
    config = BacktestConfig.for_option(
        "NIFTY", NIFTY_PUT, capital=1_000_000.0, risk_per_trade_pct=1.0, slippage_bps=2.0
    )
    signals = compile_spec(spec, candles)
    return run_option_backtest(
        signals, spec.instrument, candles, config, GOLDEN_COSTS, option_market()
    )


def snapshot(result: BacktestResult) -> dict[str, Any]:
    trades = (
        result.trades.with_columns(
            pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            for name in ("signal_time", "entry_time", "exit_time")
        )
        .with_columns(pl.col("expiry").dt.strftime("%Y-%m-%d"))
        .with_columns(pl.col("exit_reason").cast(pl.String))
        .select(TRADE_FIELDS)
    )
    metrics = result.metrics.model_dump(mode="python")
    return {
        "metrics": {name: metrics[name] for name in METRICS},
        "trades": trades.head(PINNED_TRADES).to_dicts(),
        "exit_reasons": dict(
            sorted(
                (str(reason), count)
                for reason, count in result.trades.group_by("exit_reason")
                .len()
                .with_columns(pl.col("exit_reason").cast(pl.String))
                .iter_rows()
            )
        ),
        "contracts": result.trades["contract"].to_list(),
    }


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    return run()


def test_macd_puts_stats_and_trades_match_pinned(
    result: BacktestResult, update_golden: bool
) -> None:
    actual = snapshot(result)
    if update_golden:
        EXPECTED.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"rewrote {EXPECTED.name}")
    assert EXPECTED.exists(), f"{EXPECTED} is missing: run `pytest tests/golden --update-golden`"
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert actual["metrics"]["trades"] >= 10, "the scenario should trade enough to pin anything"
    assert_matches(json.loads(json.dumps(actual)), expected, EXPECTED.stem)


def test_macd_puts_every_trade_is_its_premium_move_less_costs(result: BacktestResult) -> None:
    trades = result.trades.with_columns(pl.col("exit_reason").cast(pl.String)).to_dicts()
    assert trades
    equity = 1_000_000.0  # compounding: each trade is sized from the equity before it
    for trade in trades:
        moved = (trade["exit_price"] - trade["entry_price"]) * trade["quantity"]
        assert trade["net_pnl"] == pytest.approx(moved - trade["costs"], abs=1e-6)
        assert trade["option_type"] == "PE"
        assert trade["entry_delta"] < 0
        assert trade["quantity"] % 75 == 0
        assert trade["lots"] == trade["quantity"] // 75
        at_risk = (trade["entry_price"] - trade["initial_stop"]) * trade["quantity"]
        assert 0 < at_risk <= equity * 0.01 + 1e-6
        equity += trade["net_pnl"]
    net = sum(t["net_pnl"] for t in trades)
    assert result.metrics.end_equity == pytest.approx(1_000_000.0 + net, abs=1e-6)
