"""Builders for hand-made backtest inputs: a few candles typed in by hand, and their Signals.

Shared by the golden, unit and property tests of the backtester (import it as
`golden.backtest_frames`; `tests/` is on the path through the root conftest).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from tradeloop.domain.backtest import BacktestConfig
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.calendar import IST
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.strategy.signals import Signals

GOLDEN_COSTS = CostTable.bundled("2024-10-01")
"""The rates every golden number was worked out with: pinned, so a new bundled table (a tax
change) does not move the fill-rule expectations."""

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "golden" / "nifty_5m_sample.csv"
"""3,000 synthetic NIFTY 5m bars (40 sessions from 2025-01-01); see make_golden_sample.py."""

Bar = tuple[str, float, float, float, float]
"""(IST wall-clock time "YYYY-MM-DD HH:MM", open, high, low, close)."""

NO_COSTS = BacktestConfig(
    capital=1_000_000.0,
    sizing="fixed_quantity",
    quantity=10,
    slippage_bps=0.0,
    apply_costs=False,
)
"""Ten units a trade, no charges, no slippage: the fill rules alone."""


def candles(bars: Sequence[Bar], interval: str = "1m", symbol: str = "NIFTY") -> pl.DataFrame:
    """A candle frame in the shared schema from hand-typed bars."""
    stamps = [datetime.strptime(row[0], "%Y-%m-%d %H:%M").replace(tzinfo=IST) for row in bars]
    return pl.DataFrame(
        {
            "symbol": [symbol] * len(bars),
            "interval": [interval] * len(bars),
            "ts": stamps,
            "open": [row[1] for row in bars],
            "high": [row[2] for row in bars],
            "low": [row[3] for row in bars],
            "close": [row[4] for row in bars],
            "volume": [0] * len(bars),
            "oi": [None] * len(bars),
        },
        schema=CANDLE_SCHEMA,
    )


def minute_bars(start: str, rows: Sequence[tuple[float, float, float, float]]) -> list[Bar]:
    """Consecutive 1m bars from `start` ("YYYY-MM-DD HH:MM" IST), one per (o, h, l, c) row."""
    first = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=IST)
    bars: list[Bar] = []
    for index, (open_, high, low, close) in enumerate(rows):
        minute = first.hour * 60 + first.minute + index
        stamp = f"{first:%Y-%m-%d} {minute // 60:02d}:{minute % 60:02d}"
        bars.append((stamp, open_, high, low, close))
    return bars


def signals(
    n: int,
    entries: Sequence[int],
    *,
    direction: int = 1,
    stop_fraction: float = 0.01,
    stop_offset: float = 0.0,
    target_fraction: float | None = 0.02,
    target_r: float = 0.0,
    trail_fraction: float | None = None,
    trail_offset: float = 0.0,
    break_even_r: float = math.nan,
    max_bars_held: int = 0,
    square_off_minute: int = -1,
    spec_id: str = "hand",
) -> Signals:
    """Signals with entries on the given bar indices and constant exit rules."""
    entry = np.zeros(n, dtype=bool)
    entry[list(entries)] = True
    has_target = target_fraction is not None or target_r > 0
    return Signals(
        spec_id=spec_id,
        direction=direction,
        entry=entry,
        stop_offset=np.full(n, stop_offset),
        stop_fraction=stop_fraction,
        target_offset=np.zeros(n) if has_target else np.full(n, np.nan),
        target_fraction=target_fraction or 0.0,
        target_r=target_r,
        trail_offset=np.full(n, trail_offset) if trail_fraction is not None else np.empty(0),
        trail_fraction=trail_fraction or 0.0,
        break_even_r=break_even_r,
        max_bars_held=max_bars_held,
        square_off_minute=square_off_minute,
    )


def load_sample() -> pl.DataFrame:
    """The committed golden sample as a candle frame in the shared schema."""
    frame = pl.read_csv(SAMPLE, schema_overrides={"ts": pl.String, "oi": pl.Int64})
    return frame.with_columns(
        pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", time_unit="us", time_zone="UTC")
    ).select([pl.col(name).cast(dtype) for name, dtype in CANDLE_SCHEMA.items()])
