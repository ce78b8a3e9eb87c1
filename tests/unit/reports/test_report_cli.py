"""`tradeloop report`: writes the report (and PNGs) into the backtest's folder, opens it on
--open, lists saved backtests at 80 columns or as JSON, and refuses a broken folder clearly."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from support.saved_backtest import SavedBacktest, run_cli
from tradeloop.cli import main


def test_report_writes_the_page_and_pngs_into_the_backtests_folder(
    saved_backtest: SavedBacktest,
) -> None:
    result = run_cli(saved_backtest.env, "report", saved_backtest.backtest_id, "--png")
    assert result.returncode == 0, result.stderr
    folder = saved_backtest.archive.get(saved_backtest.backtest_id).folder
    written = [line.removeprefix("wrote ") for line in result.stdout.splitlines()]
    assert written == [str(folder / name) for name in ("report.html", "equity.png", "price.png")]
    assert all(Path(path).stat().st_size > 10_000 for path in written)


def test_report_open_hands_the_page_to_the_web_browser(
    saved_backtest: SavedBacktest, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def record_open(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", record_open)
    monkeypatch.setenv("TRADELOOP_DATA_DIR", str(saved_backtest.data_dir))
    monkeypatch.setattr(sys, "argv", ["tradeloop", "report", saved_backtest.backtest_id, "--open"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    folder = saved_backtest.archive.get(saved_backtest.backtest_id).folder
    assert opened == [(folder / "report.html").resolve().as_uri()]


def test_report_ls_reads_at_80_columns(saved_backtest: SavedBacktest) -> None:
    result = run_cli(saved_backtest.env | {"COLUMNS": "80"}, "report", "ls")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = result.stdout
    assert saved_backtest.backtest_id in text
    assert "nifty_orb_vwap_5m" in text and " IST" in text
    for header in ("trades", "net P&L", "Sharpe"):
        assert header in text


def test_report_ls_json_has_every_number(saved_backtest: SavedBacktest) -> None:
    result = run_cli(saved_backtest.env, "report", "ls", "--json")
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    metrics = saved_backtest.archive.get(saved_backtest.backtest_id).metrics
    assert row["id"] == saved_backtest.backtest_id
    assert row["spec_name"] == "nifty_orb_vwap_5m"
    assert row["trades"] == metrics["result"]["metrics"]["trades"]
    assert row["net_pnl"] == pytest.approx(metrics["result"]["metrics"]["net_pnl"])
    assert row["sharpe"] == pytest.approx(metrics["result"]["metrics"]["sharpe"])


def test_a_broken_folder_is_a_message_naming_the_file_not_a_traceback(
    saved_backtest: SavedBacktest, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(saved_backtest.data_dir / "backtests", data_dir / "backtests")
    shutil.copytree(saved_backtest.data_dir / "candles", data_dir / "candles")
    env = saved_backtest.env | {"TRADELOOP_DATA_DIR": str(data_dir)}
    [entry] = [item for item in (data_dir / "backtests").glob("*/*")]
    (entry / "equity.parquet").write_bytes(b"not parquet")
    result = run_cli(env, "report", saved_backtest.backtest_id)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "Traceback" not in message
    assert "equity.parquet is not a readable Parquet file" in message
    assert "run the backtest again" in message
    listed = run_cli(env, "report", "ls", "--json")  # the listing still works
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["id"] == saved_backtest.backtest_id
