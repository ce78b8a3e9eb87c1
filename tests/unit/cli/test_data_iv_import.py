"""`tradeloop data iv import`: a real daily IV series (India VIX) for option backtests.

A file is validated whole before anything is written: every refusal leaves the store as it was.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from tradeloop.app import stores
from tradeloop.cli import app, main
from tradeloop.errors import DataValidationError, NotFoundError, UserError
from tradeloop.settings import load_settings
from tradeloop.storage.iv_import import read_iv_file

GOOD_CSV = "day,iv\n2025-01-01,14.2\n2025-01-02,13.9\n2025-01-03,15.0\n"
EXAMPLE_SPEC = Path(__file__).parents[3] / "examples" / "strategies" / "nifty_macd_puts_5m.json"


def _import(path: Path, *options: str) -> Result:
    return CliRunner().invoke(
        app, ["data", "iv", "import", str(path), "--symbol", "NIFTY", *options]
    )


def _write(tmp_path: Path, text: str, name: str = "vix.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _stored() -> pl.DataFrame | None:
    store = stores.volatility_store(load_settings())
    return store.load("NIFTY") if "NIFTY" in store.symbols() else None


def test_a_percent_csv_is_stored_as_decimals(tmp_path: Path) -> None:
    result = _import(_write(tmp_path, GOOD_CSV), "--percent")

    assert result.exit_code == 0, result.output
    assert "3 new, 0 replaced" in result.output
    assert "from 2025-01-01 to 2025-01-03" in result.output
    stored = _stored()
    assert stored is not None
    assert stored["day"].to_list() == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    assert stored["iv"].to_list() == pytest.approx([0.142, 0.139, 0.150])


def test_nse_style_headers_and_day_first_dates_are_read_with_named_columns(
    tmp_path: Path,
) -> None:
    text = "Date ,Open ,Close \n01-Jan-2025,14.0,14.2\n02-JAN-2025,14.2,13.9\n"

    result = _import(
        _write(tmp_path, text), "--percent", "--day-column", "date", "--iv-column", "close"
    )

    assert result.exit_code == 0, result.output
    stored = _stored()
    assert stored is not None
    assert stored["iv"].to_list() == pytest.approx([0.142, 0.139])


def test_a_parquet_timestamp_column_is_stored_by_its_ist_day(tmp_path: Path) -> None:
    path = tmp_path / "vix.parquet"
    pl.DataFrame(
        {
            # 20:00 UTC on 1 January is 01:30 IST on 2 January.
            "ts": [datetime(2025, 1, 1, 20, 0, tzinfo=UTC), datetime(2025, 1, 3, 4, tzinfo=UTC)],
            "vix": [0.14, 0.15],
        }
    ).write_parquet(path)

    result = _import(path, "--decimal", "--day-column", "ts", "--iv-column", "vix")

    assert result.exit_code == 0, result.output
    stored = _stored()
    assert stored is not None
    assert stored["day"].to_list() == [date(2025, 1, 2), date(2025, 1, 3)]
    assert stored["iv"].to_list() == pytest.approx([0.14, 0.15])


def test_reimporting_replaces_the_days_it_names(tmp_path: Path) -> None:
    assert _import(_write(tmp_path, GOOD_CSV), "--percent").exit_code == 0

    again = _write(tmp_path, "day,iv\n2025-01-03,20\n2025-01-06,21\n", "later.csv")
    result = _import(again, "--percent")

    assert result.exit_code == 0, result.output
    assert "1 new, 1 replaced" in result.output
    assert "4 days stored, from 2025-01-01 to 2025-01-06" in " ".join(result.output.split())
    stored = _stored()
    assert stored is not None
    assert stored["iv"].to_list() == pytest.approx([0.142, 0.139, 0.20, 0.21])


def test_read_iv_file_returns_days_and_decimals_without_writing(tmp_path: Path) -> None:
    text = 'Date ,Close \n02-Jan-2025,14.2\n03-Jan-2025,"1,3.9"\n'

    frame = read_iv_file(
        _write(tmp_path, text), day_column="date", iv_column="close", unit="percent"
    )

    assert frame.columns == ["day", "iv"]
    assert frame["day"].to_list() == [date(2025, 1, 2), date(2025, 1, 3)]
    assert frame["iv"].to_list() == pytest.approx([0.142, 0.139])
    assert _stored() is None


def test_read_iv_file_refuses_a_missing_file_and_an_unknown_unit(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_iv_file(tmp_path / "absent.csv", unit="percent")
    with pytest.raises(UserError, match="unit of the values is not given"):
        read_iv_file(_write(tmp_path, "day,iv\n2025-01-06,0.14\n"), unit=None)


BAD_INPUTS = {
    "bad-date": (
        "day,iv\n2025-01-06,14\n2025-13-45,14\n",
        ("--percent",),
        DataValidationError,
        ("row 1", "'2025-13-45'", "not a date"),
    ),
    "empty-iv": (
        "day,iv\n2025-01-06,14\n2025-01-07,\n",
        ("--percent",),
        DataValidationError,
        ("row 1", "iv missing"),
    ),
    "non-numeric-iv": (
        "day,iv\n2025-01-06,14\n2025-01-07,high\n",
        ("--percent",),
        DataValidationError,
        ("row 1", "'high'", "not a number"),
    ),
    "negative": (
        "day,iv\n2025-01-06,14\n2025-01-07,-13\n2025-01-08,15\n",
        ("--percent",),
        DataValidationError,
        ("row 1", "iv=-0.13", "not above zero"),
    ),
    "absurd": (
        "day,iv\n2025-01-06,0.14\n2025-01-07,0.15\n2025-01-08,14.2\n",
        ("--decimal",),
        DataValidationError,
        ("row 2", "iv=14.2", "divide percentages by 100"),
    ),
    "duplicate-day": (
        "day,iv\n2025-01-06,14\n2025-01-07,13\n2025-01-07,15\n",
        ("--percent",),
        DataValidationError,
        ("row 1", "row 2", "2025-01-07", "the same symbol and day twice"),
    ),
    "missing-column": (
        "date,close\n2025-01-06,14\n",
        ("--percent",),
        DataValidationError,
        ("no column named 'day'", "--day-column", "date, close"),
    ),
    "unit-not-given-percent-looking": (
        GOOD_CSV,
        (),
        UserError,
        ("looks like percent", "pass --percent"),
    ),
    "unit-not-given-plausible-decimals": (
        "day,iv\n2025-01-06,0.14\n",
        (),
        UserError,
        ("unit of the values is not given", "--percent", "--decimal"),
    ),
    "percent-given-to-decimals": (
        "day,iv\n2025-01-06,0.14\n2025-01-07,0.15\n",
        ("--percent",),
        UserError,
        ("implausibly low", "pass --decimal"),
    ),
    "both-units": (GOOD_CSV, ("--percent", "--decimal"), UserError, ("pass one",)),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_a_bad_file_is_refused_naming_the_rows_and_nothing_is_written(
    case: str, tmp_path: Path
) -> None:
    text, options, error, names = BAD_INPUTS[case]
    assert _import(_write(tmp_path, GOOD_CSV, "first.csv"), "--percent").exit_code == 0
    before = _stored()

    path = _write(tmp_path, text)
    result = _import(path, *options)

    assert isinstance(result.exception, error), result.output
    message = " ".join(str(result.exception).split())
    for name in names:
        assert name in message, message
    if error is DataValidationError:
        assert str(path) in message
    after = _stored()
    assert before is not None and after is not None
    assert after.equals(before)


def test_a_refusal_exits_2_with_the_message_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "day,iv\n2025-01-06,14\n2025-01-07,-13\n")
    monkeypatch.setattr(
        sys,
        "argv",
        ["tradeloop", "data", "iv", "import", str(path), "--symbol", "NIFTY", "--percent"],
    )

    with pytest.raises(SystemExit) as exited:
        main()

    output = " ".join(capsys.readouterr().err.split())
    assert exited.value.code == 2
    assert "row 1" in output and "nothing was imported" in output
    assert "Traceback" not in output
    assert _stored() is None


def test_an_unknown_symbol_gets_did_you_mean(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["data", "iv", "import", str(_write(tmp_path, GOOD_CSV)), "--symbol", "NIFY", "--percent"],
    )

    assert isinstance(result.exception, NotFoundError)
    assert "Did you mean NIFTY?" in str(result.exception)


def test_option_backtest_runs_on_imported_iv_for_stored_candles(tmp_path: Path) -> None:
    from tradeloop.domain.market.synthetic import generate_market

    candles = generate_market("NIFTY", days=30).candles
    stores.candle_store(load_settings()).write(candles)
    days = candles["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date().unique().sort()
    vix = pl.DataFrame(
        {"Date": days.dt.strftime("%d-%b-%Y"), "Close": [14.0 + i % 5 for i in range(days.len())]}
    )
    path = tmp_path / "vix.csv"
    vix.write_csv(path)

    imported = _import(path, "--percent", "--day-column", "Date", "--iv-column", "Close")
    assert imported.exit_code == 0, imported.output
    listed = CliRunner().invoke(app, ["data", "ls"])
    assert "implied volatility stored for: NIFTY" in listed.output

    result = CliRunner().invoke(app, ["backtest", str(EXAMPLE_SPEC)])

    assert result.exit_code == 0, (result.output, result.exception)
