"""Fixtures of the research tools' tests: a 40-session synthetic NIFTY market in a fresh data
dir (tests/conftest.py gives every test its own TRADELOOP_DATA_DIR)."""

from __future__ import annotations

import polars as pl
import pytest
from research_tool_helpers import RUN_ID

from tradeloop.agent import ToolRegistry
from tradeloop.app import stores
from tradeloop.app.agent import research_session
from tradeloop.domain.market.synthetic import generate_market
from tradeloop.settings import Settings, load_settings
from tradeloop.tools import default_registry
from tradeloop.tools.session import ResearchSession

MARKET_DAYS = 40


@pytest.fixture(scope="session")
def nifty_candles() -> pl.DataFrame:
    return generate_market("NIFTY", days=MARKET_DAYS).candles


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def stored(settings: Settings, nifty_candles: pl.DataFrame) -> Settings:
    """The settings, with the synthetic NIFTY market written to their candle store."""
    stores.candle_store(settings).write(nifty_candles)
    return settings


@pytest.fixture
def session(stored: Settings) -> ResearchSession:
    return research_session(stored, RUN_ID)


@pytest.fixture
def registry(session: ResearchSession) -> ToolRegistry:
    return default_registry(session)
