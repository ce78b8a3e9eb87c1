"""The synthetic NSE market: reproducible, and shaped like a real index tape."""

from __future__ import annotations

import hashlib
import itertools
import math
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.calendar import SESSION_MINUTES, NSECalendar
from tradeloop.domain.market.candles import CANDLE_SCHEMA
from tradeloop.domain.market.instruments import INDICES
from tradeloop.domain.market.synthetic import REGIMES, SyntheticMarket, generate_market
from tradeloop.errors import ConfigError, NotFoundError

CALENDAR = NSECalendar.default()


@cache
def year_of(symbol: str, seed: int = 7) -> SyntheticMarket:
    return generate_market(symbol, days=250, seed=seed)


def ipc_digest(frame: pl.DataFrame) -> str:
    return hashlib.sha256(frame.write_ipc(None).getvalue()).hexdigest()


def sessions_matrix(market: SyntheticMarket, column: str) -> np.ndarray:
    """One row per session, one column per minute."""
    return market.candles[column].to_numpy().reshape(-1, SESSION_MINUTES)


def test_same_seed_and_arguments_give_identical_bytes() -> None:
    first = generate_market("NIFTY", days=30, seed=11)
    second = generate_market("NIFTY", days=30, seed=11)

    assert first.candles.equals(second.candles)
    assert ipc_digest(first.candles) == ipc_digest(second.candles)
    assert ipc_digest(first.implied_volatility) == ipc_digest(second.implied_volatility)
    assert first.regimes.equals(second.regimes)


def test_a_different_seed_gives_a_different_tape() -> None:
    first = generate_market("NIFTY", days=30, seed=11)
    second = generate_market("NIFTY", days=30, seed=12)

    assert not np.array_equal(first.candles["close"].to_numpy(), second.candles["close"].to_numpy())
    assert ipc_digest(first.candles) != ipc_digest(second.candles)


def test_each_symbol_has_its_own_stream() -> None:
    nifty = generate_market("NIFTY", days=10)
    banknifty = generate_market("BANKNIFTY", days=10)
    nifty_returns = np.diff(np.log(nifty.candles["close"].to_numpy()))
    banknifty_returns = np.diff(np.log(banknifty.candles["close"].to_numpy()))

    assert abs(np.corrcoef(nifty_returns, banknifty_returns)[0, 1]) < 0.1
    # The stream depends only on the symbol, not on what else was generated before.
    assert generate_market("BANKNIFTY", days=10).candles.equals(banknifty.candles)


def test_frame_has_the_candle_schema_and_one_row_per_session_minute() -> None:
    market = year_of("NIFTY")
    frame = market.candles

    assert frame.schema == pl.Schema(CANDLE_SCHEMA)
    assert frame.height == 250 * SESSION_MINUTES
    assert set(frame["symbol"]) == {"NIFTY"}
    assert set(frame["interval"]) == {"1m"}
    assert frame["oi"].null_count() == frame.height
    assert market.symbol == "NIFTY"


def test_timestamps_are_the_first_sessions_strictly_increasing_and_in_session() -> None:
    frame = year_of("NIFTY").candles
    stamps = frame["ts"].dt.replace_time_zone(None).to_numpy()

    assert bool(np.all(np.diff(stamps) > np.timedelta64(0, "us")))
    assert bool(CALENDAR.in_session_mask(stamps).all())
    expected_days = CALENDAR.trading_days(date(2025, 1, 1), date(2026, 1, 31))[:250]
    assert frame["ts"].dt.convert_time_zone("Asia/Kolkata").dt.date().unique().sort().to_list() == (
        expected_days
    )


def test_start_on_a_holiday_begins_at_the_next_session() -> None:
    market = generate_market("NIFTY", days=2, start=date(2025, 3, 14))  # Holi, a Friday

    assert market.implied_volatility["day"].to_list() == [date(2025, 3, 17), date(2025, 3, 18)]


def test_an_injected_calendar_is_honoured(tmp_path: Path) -> None:
    extra = tmp_path / "holidays.csv"
    extra.write_text("date,description\n2025-01-02,Test closure\n", encoding="utf-8")

    market = generate_market("NIFTY", days=2, calendar=NSECalendar.default(extra))

    assert market.regimes["day"].to_list() == [date(2025, 1, 1), date(2025, 1, 3)]


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
def test_ohlc_is_consistent_positive_and_volume_positive(symbol: str) -> None:
    frame = year_of(symbol).candles
    open_, high, low, close = (
        frame[column].to_numpy() for column in ("open", "high", "low", "close")
    )

    assert bool(np.all(high >= np.maximum(open_, close)))
    assert bool(np.all(low <= np.minimum(open_, close)))
    assert bool(np.all(low > 0))
    assert bool(np.all(frame["volume"].to_numpy() > 0))


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
def test_the_tape_starts_at_the_typical_level(symbol: str) -> None:
    market = year_of(symbol)
    level = INDICES[symbol].typical_level

    assert market.candles["open"][0] == level
    first_session = sessions_matrix(market, "close")[0]
    assert bool(np.all(np.abs(first_session / level - 1.0) < 0.05))


def test_each_bar_opens_next_to_the_previous_close_inside_a_session() -> None:
    market = year_of("NIFTY")
    opens = sessions_matrix(market, "open")
    closes = sessions_matrix(market, "close")

    step = np.abs(np.log(opens[:, 1:] / closes[:, :-1]))
    body = np.abs(np.log(closes / opens))

    assert step.max() < 0.003
    assert np.median(step) < 0.5 * np.median(body)


def test_overnight_gaps_exist_and_dwarf_the_minute_to_minute_steps() -> None:
    market = year_of("NIFTY")
    opens = sessions_matrix(market, "open")
    closes = sessions_matrix(market, "close")

    overnight = np.abs(np.log(opens[1:, 0] / closes[:-1, -1]))
    intraday = np.abs(np.log(opens[:, 1:] / closes[:, :-1]))

    assert np.mean(overnight > 0.001) > 0.5
    assert overnight.mean() > 10 * intraday.mean()


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
def test_minute_moves_are_larger_in_the_first_and_last_half_hour(symbol: str) -> None:
    market = year_of(symbol)
    moves = np.abs(np.log(sessions_matrix(market, "close") / sessions_matrix(market, "open")))
    per_minute = moves.mean(axis=0)

    midday = per_minute[165:225].mean()  # 12:00–12:59 IST
    assert per_minute[:30].mean() > 1.3 * midday
    assert per_minute[-30:].mean() > 1.1 * midday


def test_volume_is_u_shaped_and_rises_with_the_size_of_the_move() -> None:
    market = year_of("NIFTY")
    volume = sessions_matrix(market, "volume").astype(np.float64)
    moves = np.abs(np.log(sessions_matrix(market, "close") / sessions_matrix(market, "open")))

    per_minute = volume.mean(axis=0)
    assert per_minute[:30].mean() > 1.3 * per_minute[165:225].mean()
    assert per_minute[-30:].mean() > 1.3 * per_minute[165:225].mean()
    midday_volume, midday_moves = volume[:, 60:300].ravel(), moves[:, 60:300].ravel()
    assert np.corrcoef(midday_volume, midday_moves)[0, 1] > 0.2


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY"])
def test_implied_volatility_is_a_sane_vix_like_series(symbol: str) -> None:
    market = year_of(symbol)
    iv = market.implied_volatility

    assert iv.schema == pl.Schema({"symbol": pl.String(), "day": pl.Date(), "iv": pl.Float64()})
    assert iv.height == 250
    values = iv["iv"].to_numpy()
    assert bool(np.all((values >= 0.08) & (values <= 0.60)))
    assert 0.10 < float(np.median(values)) < 0.25
    # Mean-reverting but persistent: day-to-day changes are small against the level.
    assert float(np.abs(np.diff(values)).mean()) < 0.02


def test_implied_volatility_tracks_realised_volatility() -> None:
    market = year_of("NIFTY")
    closes = sessions_matrix(market, "close")
    minute_returns = np.diff(np.log(closes), axis=1)
    realised = minute_returns.std(axis=1) * math.sqrt(SESSION_MINUTES * 252)

    assert np.corrcoef(market.implied_volatility["iv"].to_numpy(), realised)[0, 1] > 0.5


def test_banknifty_is_more_volatile_than_nifty() -> None:
    nifty = year_of("NIFTY").implied_volatility["iv"].mean()
    banknifty = year_of("BANKNIFTY").implied_volatility["iv"].mean()

    assert isinstance(nifty, float)
    assert isinstance(banknifty, float)
    assert banknifty > nifty


def test_regimes_persist_for_days_and_all_appear_over_a_year() -> None:
    regimes = year_of("NIFTY").regimes

    labels = regimes["regime"].to_list()
    assert set(labels) == set(REGIMES)
    runs = 1 + sum(1 for before, after in itertools.pairwise(labels) if before != after)
    assert len(labels) / runs > 4


def test_volatile_regime_moves_more_than_calm_ones() -> None:
    market = year_of("NIFTY")
    moves = np.abs(np.log(sessions_matrix(market, "close") / sessions_matrix(market, "open")))
    daily_move = moves.mean(axis=1)
    labels = np.array(market.regimes["regime"].to_list())

    assert (
        daily_move[labels == "volatile"].mean() > 1.4 * daily_move[labels == "calm_trend_up"].mean()
    )


def test_a_year_has_no_unrealistic_drift() -> None:
    closes = year_of("NIFTY").candles["close"].to_numpy()

    assert 0.6 < closes[-1] / closes[0] < 1.6
    assert closes.min() / closes[0] > 0.5


def test_any_symbol_can_be_simulated_from_a_start_level() -> None:
    market = generate_market("reliance", days=2, start_level=1_250.0)

    assert market.symbol == "RELIANCE"
    assert set(market.candles["symbol"]) == {"RELIANCE"}
    assert market.candles["open"][0] == 1_250.0


def test_start_level_overrides_the_typical_level_of_an_index() -> None:
    market = generate_market("nifty", days=1, start_level=18_000.0)

    assert market.symbol == "NIFTY"
    assert market.candles["open"][0] == 18_000.0


@pytest.mark.parametrize("days", [0, -5])
def test_fewer_than_one_day_is_refused(days: int) -> None:
    with pytest.raises(ConfigError, match=rf"days={days}: .* at least 1"):
        generate_market("NIFTY", days=days)


def test_unknown_symbol_without_start_level_is_refused_with_a_hint() -> None:
    with pytest.raises(NotFoundError) as caught:
        generate_market("NIFTI")

    message = str(caught.value)
    assert "Did you mean NIFTY?" in message
    assert "start_level" in message


@pytest.mark.parametrize("start_level", [0.0, -10.0, 0.5, math.nan, math.inf])
def test_an_unusable_start_level_is_refused(start_level: float) -> None:
    with pytest.raises(ConfigError, match=r"start_level=.* at least 1"):
        generate_market("RELIANCE", days=1, start_level=start_level)


def test_a_negative_seed_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"seed=-1: pass a seed of 0 or more"):
        generate_market("NIFTY", days=1, seed=-1)


def test_an_empty_symbol_is_refused() -> None:
    with pytest.raises(ConfigError, match="symbol is empty"):
        generate_market("  ", days=1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    days=st.integers(min_value=1, max_value=8),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 20)),
    symbol=st.sampled_from(["NIFTY", "BANKNIFTY"]),
)
def test_any_seed_and_window_gives_a_consistent_tape(
    seed: int, days: int, start: date, symbol: str
) -> None:
    market = generate_market(symbol, days=days, start=start, seed=seed, calendar=CALENDAR)
    frame = market.candles
    open_, high, low, close = (
        frame[column].to_numpy() for column in ("open", "high", "low", "close")
    )

    assert frame.height == days * SESSION_MINUTES
    assert bool(np.all(high >= np.maximum(open_, close)))
    assert bool(np.all(low <= np.minimum(open_, close)))
    assert bool(np.all(low > 0))
    assert market.implied_volatility["day"].to_list()[0] >= start
    assert bool(CALENDAR.in_session_mask(frame["ts"].dt.replace_time_zone(None).to_numpy()).all())
