"""Candle builders shared by the indicator unit tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tradeloop.domain.indicators import PriceArrays
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.market.synthetic import generate_market

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "indicators"


def candle_frame(
    ts_ist: Sequence[str],
    open_: Sequence[float],
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
    volume: Sequence[int] | None = None,
    interval: str = "1m",
) -> pl.DataFrame:
    """A candle frame in the shared schema from IST wall-clock times like "2025-01-06 09:15"."""
    stamps = [datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=IST) for text in ts_ist]
    size = len(stamps)
    return pl.DataFrame(
        {
            "symbol": ["NIFTY"] * size,
            "interval": [interval] * size,
            "ts": stamps,
            "open": list(open_),
            "high": list(high),
            "low": list(low),
            "close": list(close),
            "volume": list(volume) if volume is not None else [0] * size,
            "oi": [None] * size,
        },
        schema=CANDLE_SCHEMA,
    )


def load_fixture(name: str) -> tuple[PriceArrays, dict[str, np.ndarray]]:
    """The candles of `tests/data/indicators/<name>.csv` and its `expected_*` columns."""
    table = pl.read_csv(FIXTURES / f"{name}.csv", comment_prefix="#", infer_schema_length=None)
    intervals = table["interval"].unique().to_list()
    assert len(intervals) == 1, intervals
    frame = candle_frame(
        table["ts_ist"].to_list(),
        table["open"].cast(pl.Float64).to_list(),
        table["high"].cast(pl.Float64).to_list(),
        table["low"].cast(pl.Float64).to_list(),
        table["close"].cast(pl.Float64).to_list(),
        table["volume"].to_list(),
        interval=intervals[0],
    )
    expected = {
        column.removeprefix("expected_"): table[column].cast(pl.Float64).to_numpy()
        for column in table.columns
        if column.startswith("expected_")
    }
    return PriceArrays.from_candles(frame), expected


@pytest.fixture(scope="session")
def market_arrays() -> PriceArrays:
    """Four sessions of synthetic NIFTY minute candles (1,500 bars)."""
    return PriceArrays.from_candles(generate_market("NIFTY", days=4, seed=11).candles)


FixtureLoader = Callable[[str], tuple[PriceArrays, dict[str, np.ndarray]]]
CandleBuilder = Callable[..., pl.DataFrame]


@pytest.fixture(scope="session")
def load_indicator_fixture() -> FixtureLoader:
    """`load_fixture`, for tests (conftest modules are not imported directly)."""
    return load_fixture


@pytest.fixture(scope="session")
def make_candles() -> CandleBuilder:
    """`candle_frame`, for tests."""
    return candle_frame
