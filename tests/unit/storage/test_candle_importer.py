"""read_candle_file: vendor CSV/Parquet files into candle frames, every assumption stated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.validation import validate_candles
from tradeloop.errors import DataValidationError, NotFoundError
from tradeloop.storage.candles import InMemoryCandleStore
from tradeloop.storage.importer import read_candle_file

CandleFactory = Callable[..., pl.DataFrame]
DAY = date(2025, 1, 2)
FIRST_BAR = datetime(2025, 1, 2, 9, 15, tzinfo=IST)


def ist_text(frame: pl.DataFrame, format_: str = "%Y-%m-%d %H:%M:%S") -> pl.Series:
    return frame["ts"].dt.convert_time_zone("Asia/Kolkata").dt.strftime(format_)


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_csv_with_shuffled_upper_case_columns(
    tmp_path: Path, candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(DAY, DAY)
    vendor = frame.select(
        pl.col("close").alias("CLOSE"),
        pl.col("volume").alias("Vol"),
        ist_text(frame).alias("DateTime"),
        pl.col("low").alias("L"),
        pl.col("open").alias("Open"),
        pl.col("high").alias("HIGH"),
    )
    path = tmp_path / "nifty.csv"
    vendor.write_csv(path)
    result = read_candle_file(path, "nifty", "1m")
    assert validate_candles(result.frame, calendar).equals(frame)
    assert any("read as Asia/Kolkata wall-clock time" in note for note in result.notes)
    assert "columns mapped: CLOSE->close, Vol->volume, DateTime->ts" in result.notes[0]


def test_parquet_with_naive_datetimes_is_read_as_ist(
    tmp_path: Path, candles: CandleFactory, calendar: NSECalendar
) -> None:
    frame = candles(DAY, DAY, interval="5m")
    naive = frame.with_columns(
        pl.col("ts").dt.convert_time_zone("Asia/Kolkata").dt.replace_time_zone(None)
    ).drop("symbol", "interval")
    path = tmp_path / "nifty.parquet"
    naive.write_parquet(path)
    result = read_candle_file(path, "NIFTY", "5m")
    assert validate_candles(result.frame, calendar).equals(frame)


def test_parquet_with_aware_datetimes_keeps_them(tmp_path: Path, candles: CandleFactory) -> None:
    frame = candles(DAY, DAY)
    path = tmp_path / "nifty.parquet"
    frame.with_columns(pl.col("ts").dt.convert_time_zone("America/New_York")).write_parquet(path)
    result = read_candle_file(path, "NIFTY", "1m", timezone="UTC")
    assert result.frame["ts"].equals(frame["ts"])
    assert "timestamps carry their timezone (America/New_York): kept" in result.notes


def test_naive_text_is_ist_unless_told_otherwise(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", "date,open,high,low,close", ["2025-01-02 09:15,1,2,1,2"])
    assert read_candle_file(path, "NIFTY", "1m").frame["ts"][0] == FIRST_BAR
    in_utc = read_candle_file(path, "NIFTY", "1m", timezone="UTC")
    assert in_utc.frame["ts"][0] == datetime(2025, 1, 2, 9, 15, tzinfo=UTC)
    assert any("read as UTC wall-clock time" in note for note in in_utc.notes)


def test_separate_day_first_date_and_time_columns_are_combined(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "b.csv",
        "Date,Time,O,H,L,C,Shares Traded,Turnover (Cr)",
        [
            '02-01-2025,09:15,100,101,99,100.5,"1,000",5',
            '02-01-2025,09:16,100.5,101,99,100,"2,500",6',
        ],
    )
    result = read_candle_file(path, "NIFTY", "1m")
    assert result.frame["ts"].to_list() == [FIRST_BAR, datetime(2025, 1, 2, 9, 16, tzinfo=IST)]
    assert result.frame["volume"].to_list() == [1000, 2500]
    assert "date and time combined from columns 'Date', 'Time'" in result.notes
    assert "timestamps parsed as %d-%m-%Y %H:%M" in result.notes
    assert "columns ignored: Turnover (Cr)" in result.notes


@pytest.mark.parametrize(
    ("stamp", "unit"),
    [
        ("1735789500", "seconds"),
        ("1735789500000", "milliseconds"),
        ("1735789500000000", "microseconds"),
    ],
)
def test_epoch_numbers(tmp_path: Path, stamp: str, unit: str) -> None:
    path = write_csv(tmp_path / "e.csv", "timestamp,open,high,low,close", [f"{stamp},1,2,1,2"])
    result = read_candle_file(path, "NIFTY", "1m")
    assert result.frame["ts"][0] == FIRST_BAR
    assert f"timestamps are epoch {unit} (UTC by definition)" in result.notes


@pytest.mark.parametrize("stamp", ["2025-01-02T09:15:00+05:30", "2025-01-02T03:45:00Z"])
def test_text_with_an_offset_keeps_it(tmp_path: Path, stamp: str) -> None:
    path = write_csv(tmp_path / "o.csv", "ts,open,high,low,close", [f"{stamp},1,2,1,2"])
    result = read_candle_file(path, "NIFTY", "1m", timezone="America/New_York")
    assert result.frame["ts"][0] == FIRST_BAR
    assert not any("wall-clock" in note for note in result.notes)


def test_dates_alone_are_daily_bars_at_the_session_open(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "d.csv",
        "Date,Open,High,Low,Close",
        ["02-Jan-2025,1,2,1,2", "03-Jan-2025,2,3,1,2"],
    )
    result = read_candle_file(path, "NIFTY", "1d")
    assert result.frame["ts"].to_list() == [FIRST_BAR, datetime(2025, 1, 3, 9, 15, tzinfo=IST)]
    with pytest.raises(DataValidationError, match="dates without a time of day"):
        read_candle_file(path, "NIFTY", "1m")


def test_no_volume_column_means_zero_volume(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "n.csv", "ts,open,high,low,close", ["2025-01-02 09:15,1,2,1,2"])
    result = read_candle_file(path, "NIFTY", "1m")
    assert result.frame["volume"].to_list() == [0]
    assert result.frame["oi"].to_list() == [None]
    assert "no volume column: volume set to 0, as for an index" in result.notes


def test_missing_columns_name_what_was_found_and_expected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", "when,open,price", ["2025-01-02 09:15,1,2"])
    with pytest.raises(DataValidationError) as caught:
        read_candle_file(path, "NIFTY", "1m")
    message = str(caught.value)
    assert "no column for high, low, close, ts" in message
    assert "Columns found: when, open, price" in message
    assert "close: close/c/close_price" in message


def test_two_columns_for_one_field_are_ambiguous(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", "ts,open,high,low,close,c", ["2025-01-02 09:15,1,2,1,2,2"])
    with pytest.raises(DataValidationError, match="close, c all mean close"):
        read_candle_file(path, "NIFTY", "1m")


def test_text_in_a_price_column_names_the_row(tmp_path: Path) -> None:
    rows = ["2025-01-02 09:15,1,2,1,2", "2025-01-02 09:16,1,2,1,n/a?", "2025-01-02 09:17,1,2,1,2"]
    path = write_csv(tmp_path / "t.csv", "ts,open,high,low,close", rows)
    with pytest.raises(
        DataValidationError, match=r"column 'close' \(close\) has 1 value\(s\).*row 1 'n/a\?'"
    ):
        read_candle_file(path, "NIFTY", "1m")


def test_unreadable_timestamps_show_examples(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "u.csv", "ts,open,high,low,close", ["yesterday,1,2,1,2"])
    with pytest.raises(DataValidationError, match="cannot read timestamps such as 'yesterday'"):
        read_candle_file(path, "NIFTY", "1m")


def test_a_symbol_column_that_disagrees_is_refused(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "s.csv", "symbol,ts,open,high,low,close", ["BANKNIFTY,2025-01-02 09:15,1,2,1,2"]
    )
    with pytest.raises(DataValidationError, match="holds BANKNIFTY, not NIFTY"):
        read_candle_file(path, "NIFTY", "1m")
    assert read_candle_file(path, "banknifty", "1m").frame["symbol"][0] == "BANKNIFTY"


def test_bad_arguments_and_paths(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", "ts,open,high,low,close", ["2025-01-02 09:15,1,2,1,2"])
    with pytest.raises(DataValidationError, match="Did you mean Asia/Kolkata"):
        read_candle_file(path, "NIFTY", "1m", timezone="Asia/Kolkatta")
    with pytest.raises(DataValidationError, match=r"unknown interval '1min'.*Did you mean 1m"):
        read_candle_file(path, "NIFTY", "1min")
    with pytest.raises(NotFoundError, match="does not exist"):
        read_candle_file(tmp_path / "absent.csv", "NIFTY", "1m")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DataValidationError, match="unsupported file type"):
        read_candle_file(tmp_path / "data.xlsx", "NIFTY", "1m")
    write_csv(tmp_path / "empty.csv", "ts,open,high,low,close", [])
    with pytest.raises(DataValidationError, match="no data rows"):
        read_candle_file(tmp_path / "empty.csv", "NIFTY", "1m")


def test_an_imported_file_with_a_bad_row_is_refused_by_the_store_naming_the_row(
    tmp_path: Path, calendar: NSECalendar
) -> None:
    rows = ["2025-01-02 09:15,100,101,99,100", "2025-01-02 09:16,100,99,98,100"]
    path = write_csv(tmp_path / "bad.csv", "ts,open,high,low,close", rows)
    store = InMemoryCandleStore(calendar)
    with pytest.raises(
        DataValidationError, match=r"row 1 \(2025-01-02 09:16 IST\): open=100.0 high=99.0"
    ):
        store.write(read_candle_file(path, "NIFTY", "1m").frame)
    assert store.series() == []


def test_a_missing_epoch_stamp_stays_missing_and_is_refused_on_write(
    tmp_path: Path, calendar: NSECalendar
) -> None:
    rows = ["1735789500,1,2,1,2", ",1,2,1,2"]
    path = write_csv(tmp_path / "gap.csv", "timestamp,open,high,low,close", rows)
    frame = read_candle_file(path, "NIFTY", "1m").frame
    assert frame["ts"].to_list() == [FIRST_BAR, None]
    with pytest.raises(DataValidationError, match=r"missing timestamps: 1 row\n    row 1"):
        InMemoryCandleStore(calendar).write(frame)
