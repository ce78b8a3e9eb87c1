"""Fixtures of the strategy tests: synthetic candles, built once per session."""

from __future__ import annotations

import polars as pl
import pytest

from tradeloop.domain.market.resample import resample
from tradeloop.domain.market.synthetic import generate_market


@pytest.fixture(scope="session")
def synthetic_minutes() -> pl.DataFrame:
    """Twenty sessions of synthetic NIFTY minute candles."""
    return generate_market("NIFTY", days=20, seed=5).candles


@pytest.fixture(scope="session")
def synthetic_five_minutes(synthetic_minutes: pl.DataFrame) -> pl.DataFrame:
    return resample(synthetic_minutes, "5m")
