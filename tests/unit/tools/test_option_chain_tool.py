"""`fetch_option_chain`: a compact near-the-money slice, priced before the lockbox."""

from __future__ import annotations

from datetime import datetime

import pytest
from research_tool_helpers import error_message, payload, run_tool

from tradeloop.agent import ToolRegistry
from tradeloop.app import stores
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.settings import Settings


@pytest.fixture
def with_iv(stored: Settings) -> Settings:
    stores.volatility_store(stored).write(generate_market("NIFTY", days=40).implied_volatility)
    return stored


def test_the_slice_is_seven_strikes_priced_on_the_last_minute_before_the_lockbox(
    with_iv: Settings, registry: ToolRegistry, nifty_candles: object
) -> None:
    result = run_tool(registry, "fetch_option_chain", symbol="nifty")
    assert result.status == "ok", error_message(result)
    data = payload(result)
    strikes = data["strikes"]
    assert isinstance(strikes, list) and len(strikes) == 7 and data["prices"] == "model"
    assert [row["strike"] for row in strikes] == sorted(row["strike"] for row in strikes)
    assert all(0 < row["ce_delta"] < 1 and -1 < row["pe_delta"] < 0 for row in strikes)
    as_of = datetime.strptime(str(data["as_of_ist"]), "%Y-%m-%d %H:%M").replace(tzinfo=IST)
    last_stored = stores.candle_store(with_iv).series()[0].last
    assert as_of < last_stored  # the lockbox's minutes are never priced for the agent
    assert len(str(result.model_dump_json())) < 1500  # fits the history uncut


def test_without_a_stored_iv_it_says_how_to_get_one(registry: ToolRegistry) -> None:
    result = run_tool(registry, "fetch_option_chain", symbol="NIFTY")
    message = error_message(result)
    assert "no implied volatility for 'NIFTY'" in message and "tradeloop data synth" in message
