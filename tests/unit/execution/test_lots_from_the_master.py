"""A loaded scrip master changes the lot everywhere: backtest config, risk check, paper broker."""

from __future__ import annotations

from datetime import date, time
from importlib import resources
from pathlib import Path

import pytest

from support.intents import future_entry
from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.app.trading import paper_stack
from tradeloop.clock import ManualClock
from tradeloop.domain.execution.gateway import SubmitOutcome
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.market.calendar import ist_datetime
from tradeloop.domain.risk.decision import RiskCheck
from tradeloop.domain.risk.state import Portfolio
from tradeloop.settings import Settings, load_settings

DAY = date(2026, 1, 6)  # a trading day after the loaded master's as_of
AS_OF = date(2026, 1, 5)


def _master_with_nifty_future_lot(folder: Path, lot: int) -> Path:
    """The bundled sample with every NIFTY future listed at `lot` units."""
    sample = resources.files("tradeloop.domain.market") / "data" / "dhan_scrip_master_sample.csv"
    lines = sample.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = [
        line.replace(",NA,65.0,", f",NA,{lot}.0,")
        if ",FUTIDX," in line and ",NIFTY-" in line
        else line
        for line in lines
    ]
    assert changed != lines
    path = folder / "scrip_master.csv"
    path.write_text("".join(changed), encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    current = load_settings(risk={"capital": 5_000_000.0})
    stores.instrument_store(current).import_csv(
        _master_with_nifty_future_lot(tmp_path, 75), as_of=AS_OF
    )
    return current


def test_without_a_loaded_master_the_bundled_sample_decides() -> None:
    config = research_context(load_settings()).backtest_config("NIFTY", DAY)
    assert (config.lot_size, config.tick_size) == (65, pytest.approx(0.10))


def test_a_loaded_master_with_lot_75_sizes_backtests_in_lots_of_75(settings: Settings) -> None:
    context = research_context(settings)
    config = context.backtest_config("NIFTY", DAY)
    assert config.lot_size == 75
    assert context.backtest_config("BANKNIFTY", DAY).lot_size == 30  # untouched in the file
    # a backtest of an older window takes that period's lot from the revision table
    assert context.backtest_config("NIFTY", date(2024, 6, 3)).lot_size == 25


def test_a_loaded_master_with_lot_75_is_what_the_risk_check_and_paper_broker_use(
    settings: Settings,
) -> None:
    clock = ManualClock(ist_datetime(DAY, time(9, 30)))
    paper = PaperConfig(slippage_bps=0.0, slippage_ticks=1, market_fill="last_price")
    stack = paper_stack(settings, stores.ledger(settings), clock, paper=paper)
    assert isinstance(stack.broker, PaperBroker)
    future = {"symbol": "NIFTY-Dec2026-FUT", "security_id": "50001"}

    old_lot = stack.gateway.submit(future_entry(**future), Portfolio())
    assert old_lot.outcome is SubmitOutcome.REFUSED
    assert old_lot.decision is not None and RiskCheck.CONTRACT in old_lot.decision.checks
    assert any("the instrument master 75" in reason for reason in old_lot.reasons)

    stack.broker.on_price("50001", 24_000.0, clock.now())
    placed = stack.gateway.submit(future_entry(quantity=75, lot_size=75, **future), Portfolio())
    assert placed.outcome is SubmitOutcome.PLACED, placed.reasons
    record = stack.ledger.get(placed.intent_id)
    assert record is not None
    # one tick of slippage against the buyer, the master's tick of the NIFTY future (0.10)
    assert stack.broker.order_by_correlation_id(placed.intent_id).average_price == pytest.approx(
        24_000.1
    )
