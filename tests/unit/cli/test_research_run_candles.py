"""`tradeloop research run` refuses a symbol or a window without 1m candles before the flow
(and Prefect) starts: exit 2, no traceback, the symbol and the stored days named."""

from __future__ import annotations

import sys
from datetime import date

import pytest

from tradeloop.app.stores import candle_store
from tradeloop.cli import main
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.settings import load_settings


@pytest.fixture
def three_nifty_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("COLUMNS", "2000")
    market = generate_market("NIFTY", days=3, start=date(2025, 3, 3), seed=1)
    candle_store(load_settings()).write(market.candles)


@pytest.mark.usefixtures("three_nifty_sessions")
@pytest.mark.parametrize(
    ("window", "names"),
    [
        (("--symbol", "BANKNIFTY"), ("no 1m candles for BANKNIFTY", "1m candles stored: NIFTY")),
        (
            ("--symbol", "NIFTY", "--from", "2020-01-01", "--to", "2020-02-01"),
            ("no 1m candles for NIFTY from 2020-01-01 to 2020-02-01", "holds 2025-03-03 to"),
        ),
        (("--symbol", "NIFTY", "--from", "2030-01-01"), ("from 2030-01-01 to the last day",)),
    ],
    ids=["symbol-not-stored", "window-before-the-store", "window-after-the-store"],
)
def test_research_run_without_candles_for_the_request_is_refused_before_the_flow(
    window: tuple[str, ...],
    names: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "argv", ["tradeloop", "research", "run", "--templates", "5m", *window])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    output = " ".join((captured.out + captured.err).split())
    assert exited.value.code == 2, output
    assert "Traceback" not in output and "Flow run" not in output
    for name in names:
        assert name in output, output
