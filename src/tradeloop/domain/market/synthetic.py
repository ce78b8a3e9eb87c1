"""A deterministic synthetic NSE index market: minute candles and a VIX-like implied volatility.

It stands in for DhanHQ history when there is none (tests, demos, research without a data
licence), so it is built to look like a real index tape, not a random walk. Same symbol, seed and
arguments give the same bytes; each symbol draws from its own stream (the seed is combined with a
CRC-32 of the symbol), so NIFTY and BANKNIFTY differ but each is reproducible on its own.

The model, day by day and minute by minute (all returns are log returns):

* **Regimes.** A daily Markov chain over four regimes that persist for days (mean run lengths
  about 12, 10, 8 and 7 sessions):

  ===============  ===============  ====================  ======================
  regime           drift per day    annualised vol        minute-return memory
  ===============  ===============  ====================  ======================
  calm_trend_up    +0.08 %          10 %                  slight momentum (+0.05)
  calm_trend_down  −0.08 %          12 %                  slight momentum (+0.05)
  choppy           0                14 %                  mean-reverting (−0.25)
  volatile         −0.10 %          22 %                  none
  ===============  ===============  ====================  ======================

  The first day's regime is drawn from the chain's stationary distribution. BANKNIFTY's vols are
  scaled by 1.2 (it is the more volatile index); any other symbol uses the NIFTY scale.
* **Daily volatility.** The regime's vol times ``exp(h)``, with ``h`` an AR(1) (φ = 0.8,
  shock sd 0.10) so volatility clusters inside a regime too.
* **Intraday profile.** Minute volatility follows a U shape: ``1 + 1.8·exp(−m/20) +
  0.8·exp(−(374−m)/25)`` for minute ``m`` of the session (normalised so the session's variance is
  the day's variance), so the first and last half hours move more than midday.
* **Minute returns.** Student-t shocks (5 degrees of freedom, unit variance: fat tails) scaled by
  the day's vol and the profile, plus the regime's drift spread over the session, passed through
  an MA(1) with the regime's memory coefficient (the shock of the previous minute of the same
  session, never across the night).
* **Bars.** A bar's open is the previous close plus a small tick-boundary jitter (0.15 minute
  sigma); its close is open plus the minute return; high and low extend beyond the body by
  exponential excursions (mean 0.4 minute sigma), so high >= max(open, close) and
  low <= min(open, close) always hold. Prices are ``exp`` of the log path (always positive),
  rounded to 0.01 as index values are quoted.
* **Overnight gaps.** Each session after the first opens away from the previous close by a
  normal gap of 0.4 × the day's sigma, plus, with probability 4 %, a news jump of 2 × sigma.
* **Volume.** Indices report volume: a U-shaped profile (heavier at the open and close), scaled up
  on volatile days, times ``0.4 + 0.75·|shock|`` (so volume rises with the size of the move) and
  a lognormal noise; positive integers. Open interest is null.
* **Implied volatility.** One VIX-like annualised value per session that mean-reverts (half the
  gap closed each day) towards the day's model volatility plus 3 points (a volatility risk
  premium), with a small noise (0.8 points), clipped to 8–60 %: NIFTY spends most days between
  11 % and 25 %, BANKNIFTY a few points higher. It tracks the day's *conditional* volatility,
  which is known at the open, not the realised minute returns, so pricing options with it peeks
  at nothing.

The regime of each session is returned too (``SyntheticMarket.regimes``) as ground truth for
testing regime detection.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import polars as pl

from tradeloop.domain.market.calendar import SESSION_MINUTES, NSECalendar
from tradeloop.domain.market.candles import CANDLE_COLUMNS
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.market.planted import (
    DEFAULT_EDGE_STRENGTH,
    MarketRegime,
    check_edge,
    reversion_drift,
)
from tradeloop.errors import ConfigError, NotFoundError

REGIMES: Final[tuple[str, ...]] = ("calm_trend_up", "calm_trend_down", "choppy", "volatile")
_DRIFT_PER_DAY = np.array([0.0008, -0.0008, 0.0, -0.0010])
_ANNUAL_VOL = np.array([0.10, 0.12, 0.14, 0.22])
_MEMORY = np.array([0.05, 0.05, -0.25, 0.0])
_TRANSITIONS = np.array(
    [
        [0.92, 0.02, 0.05, 0.01],
        [0.03, 0.90, 0.05, 0.02],
        [0.05, 0.04, 0.88, 0.03],
        [0.04, 0.03, 0.08, 0.85],
    ]
)
_STATIONARY = np.linalg.matrix_power(_TRANSITIONS, 512)[0]
_VOL_SCALE: Final[dict[str, float]] = {"BANKNIFTY": 1.2}
_TRADING_DAYS_PER_YEAR = 252
_VOL_PERSISTENCE = 0.8
_VOL_SHOCK = 0.10
_STUDENT_DF = 5.0
_OPEN_JITTER = 0.15
_WICK_MEAN = 0.4
_GAP_SIGMA = 0.4
_JUMP_PROBABILITY = 0.04
_JUMP_SIGMA = 2.0
_BASE_VOLUME = 50_000.0
_IV_PREMIUM = 1.0
_IV_BASE = 0.03
_IV_REVERSION = 0.5
_IV_NOISE = 0.008
_IV_BOUNDS = (0.08, 0.60)
_MIN_START_LEVEL = 1.0


@dataclass(frozen=True)
class SyntheticMarket:
    """One symbol's synthetic minute candles, its daily implied volatility and its regimes."""

    symbol: str
    candles: pl.DataFrame
    """`CANDLE_SCHEMA`, interval "1m", one row per minute of every session, sorted by `ts`."""
    implied_volatility: pl.DataFrame
    """Columns `symbol` (String), `day` (Date), `iv` (Float64, annualised fraction, e.g. 0.14)."""
    regimes: pl.DataFrame
    """Columns `symbol` (String), `day` (Date), `regime` (String, one of `REGIMES`)."""


def generate_market(
    symbol: str,
    *,
    days: int = 250,
    start: date = date(2025, 1, 1),
    seed: int = 7,
    calendar: NSECalendar | None = None,
    start_level: float | None = None,
    regime: MarketRegime = "null",
    edge_strength: float = DEFAULT_EDGE_STRENGTH,
) -> SyntheticMarket:
    """Generate `days` NSE sessions of minute candles for `symbol`, from the first session on or
    after `start`. NIFTY and BANKNIFTY start at their typical level; any other symbol needs
    `start_level` (which also overrides the typical level of an index).

    `regime="null"` is the market without edge (`edge_strength` is then ignored);
    `regime="planted"` adds the mean reversion of `planted.py` with `edge_strength` from 0 (the
    null market, same bytes) to 0.8 (`EDGE_STRENGTH_RANGE`)."""
    check_edge(regime, edge_strength)
    strength = edge_strength if regime == "planted" else 0.0
    name, level = _resolve_symbol(symbol, start_level)
    if days < 1:
        raise ConfigError(
            f"days={days}: the number of trading sessions to generate must be at least 1"
        )
    if seed < 0:
        raise ConfigError(f"seed={seed}: pass a seed of 0 or more")
    calendar = calendar or NSECalendar.default()
    sessions = _first_sessions(calendar, start, days)
    timestamps = calendar.minute_bars(sessions[0], sessions[-1])
    if len(timestamps) != days * SESSION_MINUTES:
        raise AssertionError("calendar.minute_bars disagrees with calendar.trading_days")

    rng = np.random.Generator(np.random.PCG64([seed, zlib.crc32(name.encode("utf-8"))]))
    regime_path = _regime_path(rng, days)
    daily_sigma = _daily_sigma(rng, regime_path, _VOL_SCALE.get(name, 1.0))
    iv = _implied_volatility(rng, daily_sigma)
    prices, volume = _minute_tape(rng, regime_path, daily_sigma, math.log(level), strength)

    day_series = pl.Series("day", sessions, dtype=pl.Date)
    return SyntheticMarket(
        symbol=name,
        candles=_candle_frame(name, timestamps, prices, volume),
        implied_volatility=pl.DataFrame(
            {"symbol": [name] * days, "day": day_series, "iv": iv},
            schema={"symbol": pl.String(), "day": pl.Date(), "iv": pl.Float64()},
        ),
        regimes=pl.DataFrame(
            {
                "symbol": [name] * days,
                "day": day_series,
                "regime": [REGIMES[index] for index in regime_path],
            },
            schema={"symbol": pl.String(), "day": pl.Date(), "regime": pl.String()},
        ),
    )


def _resolve_symbol(symbol: str, start_level: float | None) -> tuple[str, float]:
    name = symbol.strip().upper()
    if not name:
        raise ConfigError("symbol is empty: pass an index such as NIFTY or BANKNIFTY")
    if start_level is not None:
        if not math.isfinite(start_level) or start_level < _MIN_START_LEVEL:
            raise ConfigError(
                f"start_level={start_level!r} for {name}: pass a finite level of at least "
                f"{_MIN_START_LEVEL} (prices are quoted to 0.01)"
            )
        return name, float(start_level)
    try:
        return name, index_instrument(name).typical_level
    except NotFoundError as exc:
        raise NotFoundError(
            f"{exc} To simulate another symbol, pass start_level= (its price at the start)."
        ) from exc


def _first_sessions(calendar: NSECalendar, start: date, days: int) -> list[date]:
    """The first `days` trading days on or after `start`."""
    # Five trading days a week plus a margin for holidays; widen until enough are found.
    span = days * 7 // 5 + 30
    while True:
        sessions = calendar.trading_days(start, start + timedelta(days=span))
        if len(sessions) >= days:
            return sessions[:days]
        span *= 2


def _regime_path(rng: np.random.Generator, days: int) -> np.ndarray:
    draws = rng.random(days)
    cumulative_rows = np.cumsum(_TRANSITIONS, axis=1)
    regime = np.empty(days, dtype=np.int64)
    state = int(np.searchsorted(np.cumsum(_STATIONARY), draws[0], side="right"))
    regime[0] = min(state, len(REGIMES) - 1)
    for day in range(1, days):
        state = int(np.searchsorted(cumulative_rows[regime[day - 1]], draws[day], side="right"))
        regime[day] = min(state, len(REGIMES) - 1)
    return regime


def _daily_sigma(rng: np.random.Generator, regime: np.ndarray, scale: float) -> np.ndarray:
    """Per-session volatility of log returns (a daily, not annual, sigma)."""
    shocks = rng.normal(0.0, _VOL_SHOCK, len(regime))
    clustering = np.empty(len(regime))
    # The first day draws from the AR(1)'s stationary law so day one is not special.
    clustering[0] = shocks[0] / math.sqrt(1.0 - _VOL_PERSISTENCE**2)
    for day in range(1, len(regime)):
        clustering[day] = _VOL_PERSISTENCE * clustering[day - 1] + shocks[day]
    annual = _ANNUAL_VOL[regime] * scale * np.exp(clustering)
    result: np.ndarray = annual / math.sqrt(_TRADING_DAYS_PER_YEAR)
    return result


def _implied_volatility(rng: np.random.Generator, daily_sigma: np.ndarray) -> np.ndarray:
    target = _IV_BASE + _IV_PREMIUM * daily_sigma * math.sqrt(_TRADING_DAYS_PER_YEAR)
    noise = rng.normal(0.0, _IV_NOISE, len(target))
    iv = np.empty(len(target))
    current = target[0]
    for day in range(len(target)):
        current += _IV_REVERSION * (target[day] - current) + noise[day]
        current = min(max(current, _IV_BOUNDS[0]), _IV_BOUNDS[1])
        iv[day] = current
    return np.round(iv, 6)


def _intraday_volatility_profile() -> np.ndarray:
    """Relative minute volatility over a session (375 values, mean square 1): U-shaped."""
    minute = np.arange(SESSION_MINUTES, dtype=np.float64)
    profile = (
        1.0 + 1.8 * np.exp(-minute / 20.0) + 0.8 * np.exp(-(SESSION_MINUTES - 1 - minute) / 25.0)
    )
    result: np.ndarray = profile / np.sqrt(np.mean(profile**2))
    return result


def _volume_profile() -> np.ndarray:
    minute = np.arange(SESSION_MINUTES, dtype=np.float64)
    profile = (
        1.0 + 1.5 * np.exp(-minute / 30.0) + 1.2 * np.exp(-(SESSION_MINUTES - 1 - minute) / 30.0)
    )
    result: np.ndarray = profile / profile.mean()
    return result


def _minute_tape(
    rng: np.random.Generator,
    regime: np.ndarray,
    daily_sigma: np.ndarray,
    log_level: float,
    edge_strength: float,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Open/high/low/close prices and volumes, one row per minute, sessions back to back.

    A positive `edge_strength` plants the mean reversion of `planted.reversion_drift`."""
    days = len(regime)
    shape = (days, SESSION_MINUTES)
    minute_sigma = (
        daily_sigma[:, None] / math.sqrt(SESSION_MINUTES) * _intraday_volatility_profile()
    )

    shocks = rng.standard_t(_STUDENT_DF, size=shape) * math.sqrt((_STUDENT_DF - 2.0) / _STUDENT_DF)
    previous = np.zeros(shape)
    previous[:, 1:] = shocks[:, :-1]
    memory = _MEMORY[regime][:, None]
    drift = (_DRIFT_PER_DAY[regime] / SESSION_MINUTES)[:, None]
    body = drift + minute_sigma * (shocks + memory * previous) / np.sqrt(1.0 + memory**2)

    jitter = rng.normal(0.0, _OPEN_JITTER, size=shape) * minute_sigma
    gaps = rng.normal(0.0, _GAP_SIGMA, days) * daily_sigma
    jumps = (rng.random(days) < _JUMP_PROBABILITY) * rng.normal(0.0, _JUMP_SIGMA, days)
    jitter[:, 0] = gaps + jumps * daily_sigma
    jitter[0, 0] = 0.0  # the first bar opens exactly at the start level
    if edge_strength > 0.0:
        moves = body + jitter
        moves[:, 0] = body[:, 0]  # the edge reacts to the session's moves, not to the gap
        body = body + reversion_drift(moves, minute_sigma, edge_strength)

    log_close = log_level + np.cumsum((jitter + body).ravel())
    log_open = log_close - body.ravel()
    wick_scale = (_WICK_MEAN * minute_sigma).ravel()
    log_high = np.maximum(log_open, log_close) + rng.exponential(1.0, log_close.size) * wick_scale
    log_low = np.minimum(log_open, log_close) - rng.exponential(1.0, log_close.size) * wick_scale

    activity = (daily_sigma / daily_sigma.mean())[:, None] ** 0.7 * _volume_profile()
    size_effect = 0.4 + 0.75 * np.abs(shocks)
    noise = rng.lognormal(0.0, 0.25, size=shape)
    volume = np.maximum(np.rint(_BASE_VOLUME * activity * size_effect * noise), 1.0)

    # Rounding is monotone, so the OHLC ordering survives it.
    prices = {
        name: np.round(np.exp(values), 2)
        for name, values in (
            ("open", log_open),
            ("high", log_high),
            ("low", log_low),
            ("close", log_close),
        )
    }
    return prices, volume.ravel().astype(np.int64)


def _candle_frame(
    symbol: str, timestamps: np.ndarray, prices: dict[str, np.ndarray], volume: np.ndarray
) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "ts": pl.Series("ts", timestamps).dt.replace_time_zone("UTC"),
            **{name: pl.Series(name, values, dtype=pl.Float64) for name, values in prices.items()},
            "volume": pl.Series("volume", volume, dtype=pl.Int64),
        }
    )
    return frame.with_columns(
        pl.lit(symbol, dtype=pl.String).alias("symbol"),
        pl.lit("1m", dtype=pl.String).alias("interval"),
        pl.lit(None, dtype=pl.Int64).alias("oi"),
    ).select(CANDLE_COLUMNS)
