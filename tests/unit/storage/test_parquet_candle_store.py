"""What only the Parquet store has: its files, crash safety, locking and settings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tradeloop.app import stores
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.settings import load_settings
from tradeloop.storage.candles import ParquetCandleStore

CandleFactory = Callable[..., pl.DataFrame]
MONDAY, TUESDAY = date(2025, 1, 6), date(2025, 1, 7)
PARTITION = Path("symbol=NIFTY/interval=1m/year=2025")


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(".data.parquet.*.tmp"))


def test_layout_is_hive_partitioned_by_symbol_interval_year(
    tmp_path: Path, calendar: NSECalendar, candles: CandleFactory
) -> None:
    store = ParquetCandleStore(tmp_path, calendar)
    store.write(candles(date(2024, 12, 31), MONDAY))
    files = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*.parquet"))
    assert files == [
        Path("symbol=NIFTY/interval=1m/year=2024/data.parquet"),
        PARTITION / "data.parquet",
    ]
    assert pl.read_parquet(tmp_path / PARTITION / "data.parquet").height == 4 * 375  # 1-6 Jan


def test_data_survives_a_new_store_instance(
    tmp_path: Path, calendar: NSECalendar, candles: CandleFactory
) -> None:
    frame = candles(MONDAY, TUESDAY)
    ParquetCandleStore(tmp_path, calendar).write(frame)
    assert ParquetCandleStore(tmp_path, calendar).load("NIFTY", "1m").equals(frame)


def test_failed_rename_leaves_old_data_and_no_temp_file(
    tmp_path: Path, calendar: NSECalendar, candles: CandleFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetCandleStore(tmp_path, calendar)
    old = candles(MONDAY, MONDAY, seed=1)
    store.write(old)

    def failing_replace(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        store.write(candles(MONDAY, TUESDAY, seed=2))
    monkeypatch.undo()
    assert store.load("NIFTY", "1m").equals(old)
    assert temp_files(tmp_path) == []


CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import polars as pl
    from tradeloop.domain.market.calendar import NSECalendar
    from tradeloop.storage.candles import ParquetCandleStore

    def killed_at_rename(source, target):
        # The temp file is written and fsynced; the process dies before the rename.
        os.kill(os.getpid(), signal.SIGKILL)

    os.replace = killed_at_rename
    store = ParquetCandleStore(Path(sys.argv[1]), NSECalendar.default())
    store.write(pl.read_parquet(sys.argv[2]))
    """
)


def test_process_killed_mid_write_leaves_old_data_readable_and_next_write_cleans_up(
    tmp_path: Path, calendar: NSECalendar, candles: CandleFactory
) -> None:
    root = tmp_path / "store"
    store = ParquetCandleStore(root, calendar)
    old = candles(MONDAY, MONDAY, seed=1)
    store.write(old)
    new = candles(MONDAY, TUESDAY, seed=2)
    new_file = tmp_path / "new.parquet"
    new.write_parquet(new_file)

    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(root), str(new_file)],
        capture_output=True,
        check=False,
    )
    assert crashed.returncode == -9, crashed.stderr.decode()
    leftovers = temp_files(root)
    assert len(leftovers) == 1 and leftovers[0].parent == root / PARTITION
    assert pl.read_parquet(leftovers[0]).height == new.height  # the lost write, complete

    assert store.load("NIFTY", "1m").equals(old)  # the temp file is invisible to reads
    assert [summary.rows for summary in store.series()] == [old.height]

    report = store.write(new)
    assert (report.rows_inserted, report.rows_replaced) == (375, 375)
    assert temp_files(root) == []
    assert store.load("NIFTY", "1m").equals(new)


def test_concurrent_writers_to_one_partition_lose_nothing(
    tmp_path: Path, calendar: NSECalendar, candles: CandleFactory
) -> None:
    store = ParquetCandleStore(tmp_path, calendar)
    days = calendar.trading_days(date(2025, 1, 6), date(2025, 1, 17))
    frames = [candles(day, day, seed=index) for index, day in enumerate(days)]
    threads = [threading.Thread(target=store.write, args=(frame,)) for frame in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.load("NIFTY", "1m").equals(pl.concat(frames))


def test_files_of_other_tools_in_the_root_are_ignored(
    tmp_path: Path, calendar: NSECalendar, candles: CandleFactory
) -> None:
    store = ParquetCandleStore(tmp_path, calendar)
    store.write(candles(MONDAY, MONDAY))
    (tmp_path / "symbol=NIFTY" / "interval=1m" / "year=notes").mkdir()
    (tmp_path / "symbol=NIFTY" / "interval=1m" / "year=notes" / "data.parquet").write_text("x")
    (tmp_path / "README.txt").write_text("candles")
    assert [summary.rows for summary in store.series()] == [375]
    assert store.load("NIFTY", "1m").height == 375


def test_open_candle_store_uses_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, candles: CandleFactory
) -> None:
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    store = stores.candle_store(settings)
    assert store.root == settings.candles_dir == tmp_path / "data" / "candles"
    store.write(candles(MONDAY, MONDAY))
    assert (tmp_path / "data" / "candles" / PARTITION / "data.parquet").exists()
