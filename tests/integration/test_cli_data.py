"""`tradeloop data ...` end to end: synthetic market, import, listing, gaps, refusals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tradeloop.app import stores
from tradeloop.cli import app
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.errors import DataValidationError, NotFoundError
from tradeloop.settings import load_settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path / "data"


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_synth_stores_candles_and_implied_volatility(data_dir: Path) -> None:
    output = invoke(
        "data", "synth", "--symbol", "NIFTY", "--symbol", "BANKNIFTY", "--days", "3",
        "--seed", "11", "--start", "2025-03-03",
    )  # fmt: skip
    assert "NIFTY" in output and "BANKNIFTY" in output
    assert "2025-03-03 09:15" in output and "2025-03-05 15:29" in output
    settings = load_settings()
    candles = stores.candle_store(settings).load("NIFTY", "1m")
    assert candles.height == 3 * 375
    assert stores.volatility_store(settings).load("BANKNIFTY").height == 3
    assert (data_dir / "candles" / "symbol=NIFTY" / "interval=1m" / "year=2025").is_dir()


def test_synth_twice_with_the_same_seed_changes_nothing(data_dir: Path) -> None:
    invoke("data", "synth", "--symbol", "NIFTY", "--days", "2")
    first = stores.candle_store(load_settings()).load("NIFTY", "1m")
    invoke("data", "synth", "--symbol", "NIFTY", "--days", "2")
    assert stores.candle_store(load_settings()).load("NIFTY", "1m").equals(first)


def test_ls_lists_series_in_ist(data_dir: Path) -> None:
    assert "no candles under" in invoke("data", "ls")
    invoke("data", "synth", "--symbol", "NIFTY", "--days", "2", "--start", "2025-01-06")
    output = invoke("data", "ls")
    assert "NIFTY" in output and "1m" in output and "750" in output
    assert "2025-01-06 09:15" in output and "2025-01-07 15:29" in output
    assert "implied volatility stored for: NIFTY" in output


def test_import_prints_rows_range_and_timezone_assumption(data_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "nifty.csv"
    csv.write_text(
        "DATE,TIME,OPEN,HIGH,LOW,CLOSE,VOLUME\n"
        "2025-01-02,09:15:00,100,101,99,100.5,10\n"
        "2025-01-02,09:16:00,100.5,101,99.5,100.7,12\n",
        encoding="utf-8",
    )
    output = invoke("data", "import", str(csv), "--symbol", "nifty", "--interval", "1m")
    assert "wrote 2 NIFTY 1m rows (2 new, 0 replaced)" in output
    assert "from 2025-01-02 09:15 IST to 2025-01-02 09:16 IST" in output
    assert "read as Asia/Kolkata wall-clock time" in output
    again = invoke("data", "import", str(csv), "--symbol", "NIFTY", "--interval", "1m")
    assert "(0 new, 2 replaced)" in again
    assert stores.candle_store(load_settings()).load("NIFTY", "1m").height == 2


def test_import_of_a_bad_file_writes_nothing_and_names_the_row(
    data_dir: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "ts,open,high,low,close\n"
        "2025-01-02 09:15,100,101,99,100\n"
        "2025-01-02 09:15,100,101,99,100\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError) as caught:
        invoke("data", "import", str(csv), "--symbol", "NIFTY", "--interval", "1m")
    message = str(caught.value)
    assert "nothing was imported" in message
    assert "row 1 (2025-01-02 09:15 IST), same time as row 0" in message
    assert "line = row + 2" in message
    assert stores.candle_store(load_settings()).series() == []


@pytest.mark.parametrize(
    ("second_bar", "rule", "named"),
    [
        (
            "100.5,101,99.5,100.7,99999999999999999999999",
            "volume or open interest too large for a 64-bit count: 1 row",
            "row 1 (2025-01-02 09:16 IST): volume=1e+23",
        ),
        (
            "100.5,101,99.5,100.7,1e30",
            "volume or open interest too large for a 64-bit count: 1 row",
            "row 1 (2025-01-02 09:16 IST): volume=1e+30",
        ),
        (
            "100.5,1e308,99.5,100.7,12",
            "prices above 1,000,000,000: 1 row",
            "row 1 (2025-01-02 09:16 IST): open=100.5 high=1e+308",
        ),
    ],
    ids=["volume-beyond-int64-as-integer", "volume-beyond-int64-as-float", "price-of-1e308"],
)
def test_import_of_an_overflowing_volume_or_price_is_refused_naming_the_row(
    data_dir: Path, tmp_path: Path, second_bar: str, rule: str, named: str
) -> None:
    csv = tmp_path / "huge.csv"
    csv.write_text(
        f"ts,open,high,low,close,volume\n2025-01-02 09:15,100,101,99,100.5,10\n"
        f"2025-01-02 09:16,{second_bar}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError) as caught:
        invoke("data", "import", str(csv), "--symbol", "NIFTY", "--interval", "1m")
    message = str(caught.value)
    assert "nothing was imported" in message
    assert rule in message and named in message
    assert stores.candle_store(load_settings()).series() == []


def test_gaps_lists_missing_runs(data_dir: Path) -> None:
    market = generate_market("NIFTY", days=3, start=date(2025, 1, 6))
    hole = pl.int_range(pl.len()).is_between(400, 409)
    stores.candle_store(load_settings()).write(market.candles.filter(~hole))
    output = invoke("data", "gaps", "--symbol", "NIFTY")
    assert "2025-01-07 09:40" in output and "2025-01-07 09:49" in output
    assert "1 gaps, 10 missing bars in NIFTY 1m from 2025-01-06 to 2025-01-08" in output
    ranged = invoke(
        "data", "gaps", "--symbol", "NIFTY", "--from", "2025-01-08", "--to", "2025-01-08"
    )
    assert "no gaps in NIFTY 1m from 2025-01-08 to 2025-01-08" in ranged


def test_gaps_of_an_unknown_symbol_suggests_one(data_dir: Path) -> None:
    invoke("data", "synth", "--symbol", "BANKNIFTY", "--days", "1")
    with pytest.raises(NotFoundError, match="Did you mean BANKNIFTY"):
        invoke("data", "gaps", "--symbol", "BANKNIFT")


def test_a_bad_date_is_a_usage_error(data_dir: Path) -> None:
    result = runner.invoke(app, ["data", "synth", "--start", "03/01/2025"])
    assert result.exit_code == 2
    assert "use YYYY-MM-DD" in result.output


def test_unknown_intervals_are_named(data_dir: Path, tmp_path: Path) -> None:
    invoke("data", "synth", "--symbol", "NIFTY", "--days", "1")
    with pytest.raises(NotFoundError, match=r"no '2m' candles for NIFTY \(stored: 1m\)"):
        invoke("data", "gaps", "--symbol", "NIFTY", "--interval", "2m")
    csv = tmp_path / "a.csv"
    csv.write_text("ts,open,high,low,close\n2025-01-02 09:15,1,2,1,2\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"unknown interval '1min'.*Did you mean 1m"):
        invoke("data", "import", str(csv), "--symbol", "NIFTY", "--interval", "1min")
