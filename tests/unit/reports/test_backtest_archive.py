"""The backtest archive reads what `tradeloop backtest` saved; unknown ids and broken folders
are the user's to fix, with a message naming the id or the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support.saved_backtest import SavedBacktest
from tradeloop.errors import DataValidationError, NotFoundError
from tradeloop.storage.backtests import BacktestArchive


def _copy(saved: SavedBacktest, tmp_path: Path) -> tuple[BacktestArchive, str]:
    shutil.copytree(saved.data_dir / "backtests", tmp_path / "backtests")
    return BacktestArchive(tmp_path / "backtests"), saved.backtest_id


def test_a_saved_backtest_is_listed_and_read_back_by_its_id(saved_backtest: SavedBacktest) -> None:
    archive = saved_backtest.archive
    [entry] = archive.list()
    spec_id, stamp = entry.spec_id, entry.stamp
    assert entry.id == f"{spec_id}-{stamp}" == saved_backtest.backtest_id
    record = archive.get(entry.id)
    assert record.folder == saved_backtest.data_dir / "backtests" / spec_id / stamp
    assert record.metrics["spec"]["name"] == "nifty_orb_vwap_5m"
    assert record.trades.height == record.metrics["result"]["metrics"]["trades"] > 0
    assert record.equity.columns == ["ts", "equity"]
    assert record.equity.height == record.metrics["window"]["bars"]


def test_the_list_is_newest_first(saved_backtest: SavedBacktest, tmp_path: Path) -> None:
    archive, _ = _copy(saved_backtest, tmp_path)
    [entry] = archive.list()
    shutil.copytree(entry.folder, entry.folder.with_name("20991231T000000000000Z"))
    shutil.copytree(entry.folder, entry.folder.with_name("20000101T000000000000Z"))
    (entry.folder.parent / "not-a-backtest").mkdir()
    stamps = [item.stamp for item in archive.list()]
    assert stamps == ["20991231T000000000000Z", entry.stamp, "20000101T000000000000Z"]


@pytest.mark.parametrize("asked", ["nope", "6f5fac6bae2192c1-20250101T000000000000Z", "../x-1"])
def test_an_unknown_id_names_it_and_the_newest_ids(
    saved_backtest: SavedBacktest, asked: str
) -> None:
    with pytest.raises(NotFoundError) as raised:
        saved_backtest.archive.get(asked)
    message = str(raised.value)
    assert repr(asked) in message
    assert saved_backtest.backtest_id in message
    assert "tradeloop report ls" in message


def test_an_empty_archive_says_none_is_saved(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="none is saved yet"):
        BacktestArchive(tmp_path / "nothing").get("abc-20250101T000000000000Z")
    assert BacktestArchive(tmp_path / "nothing").list() == []


@pytest.mark.parametrize(
    ("name", "damage", "problem"),
    [
        ("metrics.json", None, "is missing"),
        ("metrics.json", b"{not json", "is not readable JSON"),
        ("metrics.json", b'{"spec": {}}', "lacks window, result, score"),
        ("trades.parquet", None, "is missing"),
        ("trades.parquet", b"PAR1 truncated", "is not a readable Parquet file"),
        ("equity.parquet", b"", "is not a readable Parquet file"),
    ],
)
def test_a_broken_folder_names_the_file_and_says_run_the_backtest_again(
    saved_backtest: SavedBacktest, tmp_path: Path, name: str, damage: bytes | None, problem: str
) -> None:
    archive, backtest_id = _copy(saved_backtest, tmp_path)
    record = archive.get(backtest_id)
    if damage is None:
        (record.folder / name).unlink()
    else:
        (record.folder / name).write_bytes(damage)
    with pytest.raises(DataValidationError) as raised:
        _ = record.metrics if name.endswith(".json") else getattr(record, name.split(".")[0])
    message = str(raised.value)
    assert str(record.folder / name) in message
    assert problem in message
    assert "run the backtest again" in message
