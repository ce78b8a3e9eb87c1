"""Bad input of any size gets a short refusal (issue 12, bounded work on bad input).

A 7 MB CSV with one stray quote used to run for minutes and build a 22 MB message: polars'
error quoted the rest of the file, and printing it took the rest. The file here is several MB.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tradeloop.cli import app
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.validation import clip, clip_list, validate_candles
from tradeloop.errors import DataValidationError
from tradeloop.storage.importer import read_candle_file

SHORT = 2_000
ROWS = 100_000  # about 6 MB of CSV
STRAY_ROW = 40_000
OPEN_UTC = datetime(2025, 1, 1, 3, 45, tzinfo=UTC)


def _csv_lines(rows: int) -> list[str]:
    first = datetime(2025, 1, 1, 9, 15, tzinfo=UTC)  # written as naive text
    lines = ["timestamp,open,high,low,close,volume"]
    for row in range(rows):
        price = 20_000 + row % 100
        stamp = (first + timedelta(minutes=row)).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{stamp},{price}.00,{price + 5}.00,{price - 5}.00,{price + 1}.00,{row}")
    return lines


def _with_stray_quote(tmp_path: Path, row: int) -> Path:
    lines = _csv_lines(ROWS)
    lines[row + 1] = lines[row + 1].replace(",", ',"', 1)  # opens a quote that never closes
    path = tmp_path / "candles.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    return path


def test_a_stray_quote_in_a_large_csv_is_refused_with_a_short_message_naming_the_line(
    tmp_path: Path,
) -> None:
    path = _with_stray_quote(tmp_path, STRAY_ROW)

    with pytest.raises(DataValidationError) as refused:
        read_candle_file(path, "NIFTY", "1m")

    message = str(refused.value)
    assert len(message) < SHORT
    assert f"line {STRAY_ROW + 2} has a double quote" in message


def test_data_import_of_a_large_csv_with_a_stray_quote_is_refused_short_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(tmp_path / "data"))
    path = _with_stray_quote(tmp_path, STRAY_ROW)

    result = CliRunner().invoke(
        app, ["data", "import", str(path), "--symbol", "NIFTY", "--interval", "1m"]
    )

    assert isinstance(result.exception, DataValidationError)
    assert len(str(result.exception)) < SHORT
    assert f"line {STRAY_ROW + 2}" in str(result.exception)
    assert not (tmp_path / "data" / "candles").exists()


def test_a_huge_text_value_is_quoted_clipped(tmp_path: Path) -> None:
    lines = _csv_lines(10)
    lines[5] = lines[5].replace(",20004.00,", f",{'x' * 1_000_000},", 1)
    path = tmp_path / "candles.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(DataValidationError, match="row 4 'xxx") as refused:
        read_candle_file(path, "NIFTY", "1m")

    assert len(str(refused.value)) < SHORT


def test_a_frame_with_many_symbols_names_the_first_few_and_how_many_more() -> None:
    rows = 50_000
    frame = pl.DataFrame(
        {
            "symbol": [f"SYMBOL{row}" for row in range(rows)],
            "interval": ["1m"] * rows,
            "ts": pl.datetime_range(
                OPEN_UTC, OPEN_UTC + timedelta(minutes=rows - 1), interval="1m", eager=True
            ),
            "open": [100.0] * rows,
            "high": [101.0] * rows,
            "low": [99.0] * rows,
            "close": [100.5] * rows,
            "volume": [1] * rows,
        }
    )

    with pytest.raises(DataValidationError, match="and 49,990 more") as refused:
        validate_candles(frame, NSECalendar.default(None))

    assert len(str(refused.value)) < SHORT


def test_clip_keeps_short_text_and_cuts_the_middle_of_long_text() -> None:
    assert clip("NIFTY") == "NIFTY"
    clipped = clip("a" * 500 + "z" * 500, 80)
    assert len(clipped) <= 80
    assert clipped.startswith("a") and clipped.endswith("z") and "characters cut" in clipped
    assert clip_list([f"c{number}" for number in range(25)], shown=3) == "c0, c1, c2 and 22 more"
