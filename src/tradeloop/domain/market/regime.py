"""A coarse market regime label for a window of candles, stored with every evaluation.

    daily closes  c_0 … c_n   (last close of each session)
    trend         r = ln(c_n / c_0);  z = r / (σ_d · √n)   with σ_d the stdev of daily log returns
                  "trending-up" if z > 1, "trending-down" if z < −1, else "ranging"
    volatility    σ_a = σ_d · √252:  "low-vol" < 12%, "normal-vol" < 20%, else "high-vol"

The label is context for strategy memory ("this worked in a ranging, high-vol year"), not a
trading signal: it looks at the whole window on purpose.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from tradeloop.domain.market.calendar import IST

LOW_VOLATILITY = 0.12
HIGH_VOLATILITY = 0.20
TREND_Z = 1.0


def classify_regime(candles: pl.DataFrame) -> str:
    """`"<trend>/<volatility>"` for the window, or `"unknown"` with fewer than 5 sessions."""
    if candles.is_empty():
        return "unknown"
    daily = (
        candles.select(pl.col("ts").dt.convert_time_zone(str(IST)).dt.date().alias("day"), "close")
        .group_by("day", maintain_order=True)
        .agg(pl.col("close").last())
        .sort("day")
    )
    closes = daily["close"].to_numpy()
    if len(closes) < 5:
        return "unknown"
    returns = np.diff(np.log(closes))
    daily_sigma = float(np.std(returns, ddof=1))
    if not math.isfinite(daily_sigma) or daily_sigma == 0:
        return "unknown"
    z = float(np.log(closes[-1] / closes[0])) / (daily_sigma * math.sqrt(len(returns)))
    trend = "trending-up" if z > TREND_Z else "trending-down" if z < -TREND_Z else "ranging"
    annual = daily_sigma * math.sqrt(252)
    volatility = (
        "low-vol"
        if annual < LOW_VOLATILITY
        else "normal-vol"
        if annual < HIGH_VOLATILITY
        else "high-vol"
    )
    return f"{trend}/{volatility}"
