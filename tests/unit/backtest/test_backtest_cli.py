"""`tradeloop backtest SPEC.json` on synthetic candles stored under a temporary data dir."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tradeloop.app import stores
from tradeloop.cli import app
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.errors import NotFoundError, UserError
from tradeloop.settings import load_settings

SPEC = {
    "name": "nifty_rsi_dip_5m",
    "symbol": "NIFTY",
    "timeframe": "5m",
    "direction": "long",
    "entry": {
        "all": [{"left": {"indicator": "rsi", "period": 14}, "op": "crosses_above", "right": 35}]
    },
    "exit": {
        "stop_loss": {"kind": "percent", "percent": 0.3},
        "take_profit": {"kind": "r_multiple", "r": 2},
    },
}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(tmp_path / "data"))
    for name, value in (
        ("PREFECT_HOME", str(tmp_path / "prefect")),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("PREFECT_LOGGING_LEVEL", "WARNING"),
    ):
        monkeypatch.setenv(name, value)
    (tmp_path / "spec.json").write_text(json.dumps(SPEC), encoding="utf-8")
    return tmp_path


def _store_candles(days: int = 25) -> None:
    stores.candle_store(load_settings()).write(generate_market("NIFTY", days=days, seed=5).candles)


def test_backtest_with_walk_forward_prints_metrics_and_writes_files(workspace: Path) -> None:
    _store_candles()
    result = CliRunner().invoke(
        app, ["backtest", "spec.json", "--walk-forward", "2", "--from", "2025-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert "Walk-forward (rolling)" in result.output
    assert "win rate" in result.output and "score " in result.output
    assert "₹" in result.output
    written = [Path(line.removeprefix("wrote ")) for line in result.output.splitlines()]
    written = [path for path in written if path.suffix in {".csv", ".parquet", ".json"}]
    assert {path.name for path in written} == {
        "trades.csv",
        "trades.parquet",
        "equity.parquet",
        "metrics.json",
    }
    folder = written[0].parent
    assert folder.parent.parent == load_settings().backtests_dir
    document = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    trades = pl.read_parquet(folder / "trades.parquet")
    assert document["result"]["metrics"]["trades"] == trades.height
    assert pl.read_csv(folder / "trades.csv").height == trades.height
    assert len(document["walk_forward"]) == 2
    assert set(document["score"]) == {"score", "components", "passed", "reasons"}
    assert document["spec"]["name"] == "nifty_rsi_dip_5m"


def test_backtest_without_candles_says_how_to_get_them(workspace: Path) -> None:
    result = CliRunner().invoke(app, ["backtest", "spec.json"])
    assert isinstance(result.exception, NotFoundError)
    assert "tradeloop data synth --symbol NIFTY" in str(result.exception)


def test_backtest_on_another_symbol_without_its_candles(workspace: Path) -> None:
    _store_candles(days=3)
    result = CliRunner().invoke(app, ["backtest", "spec.json", "--symbol", "BANKNIFTY"])
    assert isinstance(result.exception, NotFoundError)
    assert "tradeloop data synth --symbol BANKNIFTY" in str(result.exception)


def test_backtest_window_without_candles_is_refused(workspace: Path) -> None:
    _store_candles(days=3)
    result = CliRunner().invoke(
        app, ["backtest", "spec.json", "--from", "2030-01-01", "--to", "2030-02-01"]
    )
    assert isinstance(result.exception, NotFoundError)
    assert "from 2030-01-01 to 2030-02-01" in str(result.exception)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "01-02-2025"], "--from '01-02-2025' is not a date"),
        (["--from", "2025-03-01", "--to", "2025-02-01"], "is before --from"),
        (["--walk-forward", "2", "--mode", "sliding"], "--mode 'sliding' is unknown"),
        (["--capital", "-5"], "capital"),
        (["--risk-pct", "0"], "risk_per_trade_pct"),
        (["--lot-size", "0"], "lot_size"),
        (["--tick-size", "-0.05"], "tick_size"),
    ],
)
def test_bad_options_are_refused_with_the_fix(
    workspace: Path, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["backtest", "spec.json", *arguments])
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception)


def _store_banknifty_2016() -> None:
    market = generate_market("BANKNIFTY", days=5, start=date(2016, 8, 1), seed=5)
    stores.candle_store(load_settings()).write(market.candles)


def test_a_day_before_the_lot_table_is_refused_naming_the_options_that_proceed(
    workspace: Path,
) -> None:
    _store_banknifty_2016()  # BANKNIFTY's verified lots start on 2018-10-26
    result = CliRunner().invoke(app, ["backtest", "spec.json", "--symbol", "BANKNIFTY"])
    assert isinstance(result.exception, NotFoundError)
    message = str(result.exception)
    assert "no lot size of BANKNIFTY is known for 2016-08-01" in message
    assert "--lot-size N --tick-size T" in message


def test_lot_and_tick_options_win_over_the_table_and_are_printed(workspace: Path) -> None:
    _store_banknifty_2016()
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "spec.json",
            "--symbol",
            "BANKNIFTY",
            "--lot-size",
            "40",
            "--tick-size",
            "0.05",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "the BANKNIFTY future's lot 40 and tick 0.05 given with --lot-size and --tick-size "
        "(over the contract table), kept for the whole run"
    ) in " ".join(result.output.split())


def test_a_lot_size_alone_wins_over_the_table_and_keeps_its_tick(workspace: Path) -> None:
    _store_candles(days=3)  # January 2025: the table says NIFTY 25 on 0.05
    result = CliRunner().invoke(app, ["backtest", "spec.json", "--lot-size", "75"])
    assert result.exit_code == 0, result.output
    assert "the NIFTY future's lot 75 and tick 0.05 given with --lot-size" in " ".join(
        result.output.split()
    )
