"""Builders shared by the strategy tests: spec documents and hand-made candle frames."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.candles import CANDLE_SCHEMA, INTERVAL_MINUTES

BASE_DOCUMENT: dict[str, Any] = {
    "name": "test_spec",
    "symbol": "NIFTY",
    "timeframe": "5m",
    "direction": "long",
    "entry": {
        "all": [{"left": {"indicator": "rsi", "period": 14}, "op": "crosses_above", "right": 30}]
    },
    "exit": {"stop_loss": {"kind": "percent", "percent": 0.5}},
}


def document(**changes: Any) -> dict[str, Any]:
    """A copy of the base spec document with top-level keys replaced."""
    result = copy.deepcopy(BASE_DOCUMENT)
    result.update(copy.deepcopy(changes))
    return result


def candles_from_closes(
    closes: Sequence[float],
    interval: str = "1m",
    start: date = date(2025, 1, 6),
    symbol: str = "NIFTY",
) -> pl.DataFrame:
    """Session bars from 09:15 IST on `start`, opening at the previous close."""
    stamps = NSECalendar.default().minute_bars(
        start, date(2025, 12, 31), INTERVAL_MINUTES[interval]
    )
    size = len(closes)
    close = np.asarray(closes, dtype=np.float64)
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pl.DataFrame(
        {
            "symbol": [symbol] * size,
            "interval": [interval] * size,
            "ts": pl.Series(stamps[:size]).dt.replace_time_zone("UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + 0.5,
            "low": np.minimum(open_, close) - 0.5,
            "close": close,
            "volume": np.full(size, 1000, dtype=np.int64),
            "oi": pl.Series([None] * size, dtype=pl.Int64),
        },
        schema=CANDLE_SCHEMA,
    )
