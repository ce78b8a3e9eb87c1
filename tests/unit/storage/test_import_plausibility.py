"""Importing implausible files (issue 15 item 6): each refused naming the row, column, value and
the option that relaxes it, and the store unchanged, byte for byte, after the refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.errors import DataValidationError, UserError
from tradeloop.storage.candles import ParquetCandleStore, PartitionedCandleStore
from tradeloop.storage.importer import read_candle_file

CandleFactory = Callable[..., pl.DataFrame]
DEFAULTS = PlausibilityRules()
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=IST)
HEADER = "ts,open,high,low,close,volume"
DAY = date(2025, 1, 2)


def snapshot(store: PartitionedCandleStore) -> object:
    """Everything stored: the Parquet files' bytes, or the in-memory partitions."""
    if isinstance(store, ParquetCandleStore):
        return {
            path.relative_to(store.root): path.read_bytes()
            for path in sorted(store.root.rglob("*"))
            if path.is_file() and path.name != ".write.lock"
        }
    return {key: frame.rows() for key, frame in store._partitions.items()}  # type: ignore[attr-defined]


def stored_day(store: PartitionedCandleStore, candles: CandleFactory) -> pl.DataFrame:
    """A day of NIFTY minute bars already in the store (closes near 24,000)."""
    frame = candles(DAY, DAY)
    store.write(frame)
    return frame


def import_csv(
    store: PartitionedCandleStore,
    tmp_path: Path,
    rows: list[str],
    rules: PlausibilityRules = DEFAULTS,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = read_candle_file(path, "NIFTY", "1m")
    store.write_plausible(result.frame, rules, NOW)


def refused(store: PartitionedCandleStore, tmp_path: Path, rows: list[str], *names: str) -> str:
    """The refusal's message, after checking it names `names` and nothing was stored."""
    before = snapshot(store)
    with pytest.raises(DataValidationError) as caught:
        import_csv(store, tmp_path, rows)
    assert isinstance(caught.value, UserError)
    message = str(caught.value)
    for name in names:
        assert name in message, f"{name!r} not in {message}"
    assert snapshot(store) == before
    return message


@pytest.mark.parametrize(
    ("volume", "shown"),
    [
        ("9223372036854775808", "volume=9.223372036854776e+18"),  # 2**63
        ("99999999999999999999999999", "volume=1e+26"),
        ('"9,223,372,036,854,775,808"', "volume=9.223372036854776e+18"),
    ],
    ids=["2**63", "1e26", "thousands-separators"],
)
def test_a_volume_overflowing_int64_is_refused(
    store: PartitionedCandleStore,
    tmp_path: Path,
    candles: CandleFactory,
    volume: str,
    shown: str,
) -> None:
    stored_day(store, candles)
    refused(
        store,
        tmp_path,
        [
            "2025-01-03 09:15:00,24000,24010,23990,24005,10",
            f"2025-01-03 09:16:00,24005,24010,23990,24000,{volume}",
        ],
        "too large for a 64-bit count: 1 row",
        "row 1 (2025-01-03 09:16 IST)",
        shown,
    )


@pytest.mark.parametrize(
    ("price", "rule", "shown"),
    [
        ("1e308", "prices above 1,000,000,000", "close=1e+308"),
        ("inf", "missing or non-finite prices", "close=inf"),
        ("nan", "missing or non-finite prices", "close=None"),
        ("-24000", "prices not above zero", "close=-24000.0"),
        ("0", "prices not above zero", "close=0.0"),
    ],
)
def test_an_absurd_price_is_refused_whatever_the_rules_allow(
    store: PartitionedCandleStore,
    tmp_path: Path,
    candles: CandleFactory,
    price: str,
    rule: str,
    shown: str,
) -> None:
    stored_day(store, candles)
    rows = [f"2025-01-03 09:15:00,{price},{price},{price},{price},10"]
    before = snapshot(store)
    anything = PlausibilityRules(max_move_fraction=1e300, allow_future=True)
    with pytest.raises(DataValidationError) as caught:
        import_csv(store, tmp_path, rows, anything)
    message = str(caught.value)
    assert rule in message and "row 0 (2025-01-03 09:15 IST)" in message and shown in message
    assert snapshot(store) == before


def test_a_bar_dated_2099_is_refused_naming_allow_future(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    stored_day(store, candles)
    refused(
        store,
        tmp_path,
        ["2099-01-02 09:15:00,24000,24010,23990,24005,10"],
        "bars in the future: 1 row",
        "row 0 (2099-01-02 09:15 IST) opens after now (2026-12-02 12:00 IST)",
        "--allow-future",
    )


def test_allow_future_stores_the_2099_bar(store: PartitionedCandleStore, tmp_path: Path) -> None:
    rows = ["2099-01-02 09:15:00,24000,24010,23990,24005,10"]
    import_csv(store, tmp_path, rows, PlausibilityRules(allow_future=True))
    assert store.load("NIFTY", "1m")["close"].to_list() == [24005.0]


def test_a_50_percent_jump_from_the_stored_series_is_refused(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    last_close = stored_day(store, candles)["close"][-1]
    jump = round(last_close * 1.5, 2)
    refused(
        store,
        tmp_path,
        [f"2025-01-03 09:15:00,{jump},{jump},{jump},{jump},10"],
        "prices more than 20.0% from the close before them: 1 row",
        f"row 0 (2025-01-03 09:15 IST): close={jump} is 50.0% from the stored close at "
        f"2025-01-02 15:29 IST, {last_close}",
        "--max-move 0.5",
    )


def test_a_50_percent_jump_from_the_previous_row_is_refused(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    stored_day(store, candles)
    refused(
        store,
        tmp_path,
        [
            "2025-01-03 09:15:00,24000,24010,23990,24000,10",
            "2025-01-03 09:16:00,24000,36000,23990,36000,10",
        ],
        "row 1 (2025-01-03 09:16 IST): close=36000.0 is 50.0% from row 0's close, 24000.0",
        "--max-move 0.5",
    )


def test_a_file_before_a_stored_bar_far_from_its_last_close_is_refused(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    frame = candles(date(2025, 1, 3), date(2025, 1, 3))
    store.write(frame)
    first_stored = frame["close"][0]
    message = refused(
        store,
        tmp_path,
        ["2025-01-02 15:29:00,12000,12010,11990,12000,10"],
        "row 0 (2025-01-02 15:29 IST): close=12000.0; the stored bar after it "
        f"(2025-01-03 09:15 IST) closes at {first_stored}",
    )
    assert "--max-move" in message


def test_the_stored_close_before_is_found_in_an_earlier_year(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    store.write(candles(date(2024, 12, 31), date(2024, 12, 31)))
    refused(
        store,
        tmp_path,
        ["2025-01-02 09:15:00,48000,48000,48000,48000,10"],
        "from the stored close at 2024-12-31 15:29 IST",
    )


def test_a_refusal_among_many_good_rows_writes_none_of_them(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    stored_day(store, candles)
    good = candles(date(2025, 1, 3), date(2025, 1, 6)).with_columns(
        pl.col("ts").dt.convert_time_zone("Asia/Kolkata").dt.strftime("%Y-%m-%d %H:%M:%S")
    )
    rows = [
        ",".join(str(value) for value in row)
        for row in good.select("ts", "open", "high", "low", "close", "volume").iter_rows()
    ]
    rows[-1] = rows[-1].replace("2025-01-06", "2099-01-06")
    refused(store, tmp_path, rows, "bars in the future: 1 row", f"row {len(rows) - 1} (2099")


def test_plausible_files_are_written(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    stored_day(store, candles)
    import_csv(store, tmp_path, ["2025-01-03 09:15:00,24000,24010,23990,24005,10"])
    assert store.load("NIFTY", "1m")["ts"][-1] == datetime(2025, 1, 3, 9, 15, tzinfo=IST)


def test_a_raised_max_move_lets_a_real_jump_through(
    store: PartitionedCandleStore, tmp_path: Path, candles: CandleFactory
) -> None:
    stored_day(store, candles)
    rows = ["2025-01-03 09:15:00,36000,36000,36000,36000,10"]
    import_csv(store, tmp_path, rows, PlausibilityRules(max_move_fraction=0.6))
    assert store.load("NIFTY", "1m")["close"][-1] == 36000.0


def test_plain_writes_do_not_apply_the_relaxable_rules(store: PartitionedCandleStore) -> None:
    # `data synth` and the flows write through `write`: their series are not imports.
    frame = pl.DataFrame(
        {
            "symbol": "NIFTY",
            "interval": "1m",
            "ts": [datetime(2099, 1, 2, 9, 15, tzinfo=IST)],
            "open": [100.0],
            "high": [100.0],
            "low": [100.0],
            "close": [100.0],
            "volume": [0],
        }
    )
    assert store.write(frame).rows_inserted == 1


@pytest.mark.parametrize("stamp", ["9e21", "1e300", "-9e21", "-1"])
def test_an_epoch_timestamp_out_of_range_is_refused_naming_its_row(
    tmp_path: Path, stamp: str
) -> None:
    path = tmp_path / "epoch.csv"
    path.write_text(f"{HEADER}\n1735789500,1,1,1,1,1\n{stamp},1,1,1,1,1\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        read_candle_file(path, "NIFTY", "1m")
    message = str(caught.value)
    assert "1 timestamp(s) not between 1970 and 2200" in message
    assert "row 1 '" in message and "row 0" not in message
