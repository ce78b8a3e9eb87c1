"""Session-anchored levels: VWAP, the opening range and the previous session's high/low/close.

Each resets when the IST date changes (`PriceArrays.session`), so its outputs are NaN (not
ready) at the start of every session where the definition says so, not only at the start of the
series: a consumer must treat NaN as "not ready".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
from numba import njit

from tradeloop.domain.indicators.base import IndicatorDef, Param, PriceArrays


@njit(cache=True)
def _vwap_kernel(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, session: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    size = len(close)
    vwap = np.empty(size)
    price_volume = 0.0
    total_volume = 0.0
    price_sum = 0.0
    bars = 0
    for bar in range(size):
        if bar == 0 or session[bar] != session[bar - 1]:
            price_volume = 0.0
            total_volume = 0.0
            price_sum = 0.0
            bars = 0
        typical = (high[bar] + low[bar] + close[bar]) / 3.0
        price_volume += typical * volume[bar]
        total_volume += volume[bar]
        price_sum += typical
        bars += 1
        vwap[bar] = price_volume / total_volume if total_volume > 0.0 else price_sum / bars
    return vwap


def _vwap(arrays: PriceArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    return {
        "vwap": _vwap_kernel(arrays.high, arrays.low, arrays.close, arrays.volume, arrays.session)
    }


VWAP: Final = IndicatorDef(
    name="vwap",
    description="Session VWAP: volume-weighted mean typical price since today's open",
    params=(),
    outputs=("vwap",),
    source="native",
    compute=_vwap,
    warmup=lambda params: 0,
    units=("price",),
    definition="typical = (high + low + close)/3; vwap[t] = Σ typical·volume / Σ volume over "
    "the bars of t's session up to t; while the session's cumulative volume is 0 (an index "
    "without volume), the running mean of typical instead. Resets at each session open.",
    warmup_note="0",
)


@njit(cache=True)
def _opening_range_kernel(
    high: np.ndarray,
    low: np.ndarray,
    session: np.ndarray,
    minute_of_session: np.ndarray,
    bar_minutes: int,
    minutes: int,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    size = len(high)
    range_high = np.full(size, np.nan)
    range_low = np.full(size, np.nan)
    highest = -np.inf
    lowest = np.inf
    complete = False
    for bar in range(size):
        if bar == 0 or session[bar] != session[bar - 1]:
            highest = -np.inf
            lowest = np.inf
            complete = False
        minute = minute_of_session[bar]
        if not complete and 0 <= minute < minutes:
            highest = max(highest, high[bar])
            lowest = min(lowest, low[bar])
        if not complete and minute + bar_minutes >= minutes and highest >= lowest:
            complete = True
        if complete:
            range_high[bar] = highest
            range_low[bar] = lowest
    return range_high, range_low


def _opening_range(arrays: PriceArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    range_high, range_low = _opening_range_kernel(
        arrays.high,
        arrays.low,
        arrays.session,
        arrays.minute_of_session,
        arrays.bar_minutes,
        int(params["minutes"]),
    )
    return {"high": range_high, "low": range_low}


OPENING_RANGE: Final = IndicatorDef(
    name="opening_range",
    description="High and low of the session's first `minutes` minutes, from when it is complete",
    params=(Param("minutes", "int", 15, 1, 375, "length of the opening range in minutes"),),
    outputs=("high", "low"),
    source="native",
    compute=_opening_range,
    warmup=lambda params: 0,
    units=("price", "price"),
    definition="the range bars are the session's bars that open in its first `minutes` minutes "
    "(09:15 IST onwards); high/low are their max high / min low, available from the bar whose "
    "close ends the range (open minute + bar length >= minutes) to the session's last bar, NaN "
    "before. A session whose opening bars are missing has no range (NaN all day).",
    warmup_note="0; NaN in each session until the range is complete",
)


@njit(cache=True)
def _previous_session_kernel(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, session: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    size = len(close)
    previous_high = np.full(size, np.nan)
    previous_low = np.full(size, np.nan)
    previous_close = np.full(size, np.nan)
    session_high = np.nan
    session_low = np.nan
    last_high = np.nan
    last_low = np.nan
    last_close = np.nan
    for bar in range(size):
        if bar == 0 or session[bar] != session[bar - 1]:
            if bar > 0:
                last_high = session_high
                last_low = session_low
                last_close = close[bar - 1]
            session_high = high[bar]
            session_low = low[bar]
        else:
            session_high = max(session_high, high[bar])
            session_low = min(session_low, low[bar])
        previous_high[bar] = last_high
        previous_low[bar] = last_low
        previous_close[bar] = last_close
    return previous_high, previous_low, previous_close


def _previous_session(arrays: PriceArrays, params: Mapping[str, float]) -> dict[str, np.ndarray]:
    high, low, close = _previous_session_kernel(
        arrays.high, arrays.low, arrays.close, arrays.session
    )
    return {"high": high, "low": low, "close": close}


PREVIOUS_SESSION: Final = IndicatorDef(
    name="previous_session",
    description="The previous session's high, low and close (NaN during the first session)",
    params=(),
    outputs=("high", "low", "close"),
    source="native",
    compute=_previous_session,
    warmup=lambda params: 0,
    units=("price", "price", "price"),
    definition="max high, min low and last close of the bars of the previous session present "
    "in the data; NaN throughout the first session of the series.",
    warmup_note="0; NaN throughout the first session",
)
