from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.regime import classify_regime


def _daily_closes(closes: list[float]) -> pl.DataFrame:
    calendar = NSECalendar.default()
    sessions = calendar.sessions(date(2025, 1, 1), date(2025, 12, 31))[: len(closes)]
    return pl.DataFrame(
        {"ts": [session.open for session in sessions], "close": closes}
    ).with_columns(pl.col("ts").dt.convert_time_zone("UTC"))


def test_steady_rise_with_small_noise_is_trending_up_low_vol() -> None:
    rng = np.random.default_rng(1)
    log_path = np.cumsum(0.002 + rng.normal(0, 0.004, 120))
    assert classify_regime(_daily_closes(list(24_000 * np.exp(log_path)))) == "trending-up/low-vol"


def test_wild_flat_market_is_ranging_high_vol() -> None:
    closes = [24_000 * (1.03 if i % 2 else 0.97) for i in range(120)]
    assert classify_regime(_daily_closes(closes)) == "ranging/high-vol"


def test_too_short_or_empty_window_is_unknown() -> None:
    assert classify_regime(_daily_closes([1.0, 2.0, 3.0])) == "unknown"
    assert classify_regime(pl.DataFrame({"ts": [], "close": []})) == "unknown"
