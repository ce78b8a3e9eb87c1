"""`tradeloop data fetch` end to end: settings from the environment, the real dhanhq SDK, the
loopback chart APIs, the Parquet candle store under the data directory."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from support.dhan_charts import DhanChartsServer
from tradeloop.app import stores
from tradeloop.cli import app, main
from tradeloop.domain.market.calendar import IST
from tradeloop.settings import load_settings

TOKEN = "TOKEN-SECRET-123"
CLIENT_ID = "1000000007"
FETCH = ("data", "fetch", "--symbol", "NIFTY", "--interval", "5m")
runner = CliRunner()


pytestmark = pytest.mark.usefixtures("only_pytest_log_handlers")


@pytest.fixture
def charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DhanChartsServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("COLUMNS", "200")
    with DhanChartsServer(access_token=TOKEN, client_id=CLIENT_ID) as server:
        monkeypatch.setenv("TRADELOOP_DHAN_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("TRADELOOP_DHAN_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("TRADELOOP_DHAN_BASE_URL", server.base_url)
        yield server


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_fetch_stores_the_candles_and_a_second_run_asks_for_nothing(
    charts: DhanChartsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    output = invoke(*FETCH, "--from", "2025-03-03", "--to", "2025-03-09", "--json")

    summary = json.loads(output)
    assert summary["symbol"] == "NIFTY" and summary["interval"] == "5m"
    assert (summary["requests"], summary["missing_days"], summary["rows_inserted"]) == (1, 5, 375)
    stored = stores.candle_store(load_settings()).load("NIFTY", "5m")
    assert stored.height == 375
    assert len(charts.arrivals) == 1
    # counted in the account's one limiter file, shared with the broker
    assert (load_settings().data_dir / "dhan-rate-limits.sqlite").exists()

    again = invoke(*FETCH, "--from", "2025-03-03", "--to", "2025-03-09")
    assert "nothing to fetch" in again and "complete from 2025-03-03 to 2025-03-09" in again
    assert len(charts.arrivals) == 1

    more = invoke(*FETCH, "--from", "2025-03-03", "--to", "2025-03-11")
    assert "2 missing sessions in 1 request;" in more and "150 new" in more
    for text in (output, again, more, caplog.text):
        assert TOKEN not in text


def test_a_refused_token_exits_2_naming_the_variable_never_the_token(
    charts: DhanChartsServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    charts.access_token = "THE-SERVER-EXPECTS-ANOTHER"
    monkeypatch.setattr(
        sys, "argv", ["tradeloop", *FETCH, "--from", "2025-03-03", "--to", "2025-03-04"]
    )
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert exited.value.code == 2, output
    assert "TRADELOOP_DHAN_ACCESS_TOKEN" in output and "DH-901" in output
    assert "Traceback" not in output
    for text in (output, caplog.text):
        assert TOKEN not in text


def test_a_50_percent_jump_exits_2_naming_the_window_and_max_move_and_the_option_stores_it(
    charts: DhanChartsServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    charts.jump_from(datetime(2025, 3, 5, 10, 0, tzinfo=IST), 1.5)
    window = ("--from", "2025-03-03", "--to", "2025-03-07")
    monkeypatch.setattr(sys, "argv", ["tradeloop", *FETCH, *window])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert exited.value.code == 2, output
    assert "NIFTY 5m from Dhan, window 2025-03-03 to 2025-03-07 (request 1 of 1)" in output
    assert "(2025-03-05 10:00 IST)" in output and "--max-move 0.51" in output
    assert "tradeloop data fetch" in output and "Traceback" not in output
    assert stores.candle_store(load_settings()).series() == []  # nothing of the window stored

    stored = invoke(*FETCH, *window, "--max-move", "0.6", "--json")
    assert json.loads(stored)["rows_inserted"] == 375
    assert stores.candle_store(load_settings()).load("NIFTY", "5m").height == 375
