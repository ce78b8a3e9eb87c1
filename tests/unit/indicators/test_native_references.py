"""Native indicators against slow, obviously-correct pure-Python references on synthetic data.

The references restate each definition in docs/indicators.md as directly as possible (plain
loops, brute-force searches), sharing no code with the implementations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradeloop.domain.indicators import PriceArrays, get_indicator

NAN = math.nan


def _compute(name: str, arrays: PriceArrays, params: dict[str, float]) -> dict[str, np.ndarray]:
    definition = get_indicator(name)
    return definition.compute(arrays, definition.validate_params(params))


def _wilder_atr(arrays: PriceArrays, period: int) -> list[float]:
    high, low, close = arrays.high, arrays.low, arrays.close
    true_range = [NAN] + [
        max(high[t], close[t - 1]) - min(low[t], close[t - 1]) for t in range(1, len(close))
    ]
    atr = [NAN] * len(close)
    if len(close) > period:
        atr[period] = sum(true_range[1 : period + 1]) / period
        for t in range(period + 1, len(close)):
            atr[t] = (atr[t - 1] * (period - 1) + true_range[t]) / period
    return atr


def supertrend_reference(arrays: PriceArrays, period: int, multiplier: float) -> dict[str, list]:
    atr = _wilder_atr(arrays, period)
    line, direction = [NAN] * len(arrays), [NAN] * len(arrays)
    upper = lower = NAN
    for t in range(period, len(arrays)):
        middle = (arrays.high[t] + arrays.low[t]) / 2
        basic_upper, basic_lower = middle + multiplier * atr[t], middle - multiplier * atr[t]
        if t == period:
            upper, lower, trend = basic_upper, basic_lower, -1
        else:
            previous_close = arrays.close[t - 1]
            keep_upper = basic_upper >= upper and previous_close <= upper
            keep_lower = basic_lower <= lower and previous_close >= lower
            upper = upper if keep_upper else basic_upper
            lower = lower if keep_lower else basic_lower
            if trend == -1 and arrays.close[t] > upper:
                trend = 1
            elif trend == 1 and arrays.close[t] < lower:
                trend = -1
        line[t] = lower if trend == 1 else upper
        direction[t] = trend
    return {"line": line, "direction": direction}


def _sessions(arrays: PriceArrays) -> dict[int, list[int]]:
    bars: dict[int, list[int]] = {}
    for t, session in enumerate(arrays.session):
        bars.setdefault(int(session), []).append(t)
    return bars


def vwap_reference(arrays: PriceArrays) -> dict[str, list]:
    result = [NAN] * len(arrays)
    for bars in _sessions(arrays).values():
        for position, t in enumerate(bars):
            seen = bars[: position + 1]
            typical = [(arrays.high[i] + arrays.low[i] + arrays.close[i]) / 3 for i in seen]
            volumes = [arrays.volume[i] for i in seen]
            if sum(volumes) > 0:
                result[t] = sum(p * v for p, v in zip(typical, volumes, strict=True)) / sum(volumes)
            else:
                result[t] = sum(typical) / len(typical)
    return {"vwap": result}


def opening_range_reference(arrays: PriceArrays, minutes: int) -> dict[str, list]:
    high, low = [NAN] * len(arrays), [NAN] * len(arrays)
    for bars in _sessions(arrays).values():
        in_range = [t for t in bars if 0 <= arrays.minute_of_session[t] < minutes]
        if not in_range:
            continue
        ready = [t for t in bars if arrays.minute_of_session[t] + arrays.bar_minutes >= minutes]
        for t in bars:
            if ready and t >= ready[0]:
                high[t] = max(arrays.high[i] for i in in_range)
                low[t] = min(arrays.low[i] for i in in_range)
    return {"high": high, "low": low}


def swings_reference(arrays: PriceArrays, left: int, right: int) -> dict[str, list]:
    def is_high(p: int) -> bool:
        value = arrays.high[p]
        return all(value > arrays.high[p - k] for k in range(1, left + 1)) and all(
            value >= arrays.high[p + k] for k in range(1, right + 1)
        )

    def is_low(p: int) -> bool:
        value = arrays.low[p]
        return all(value < arrays.low[p - k] for k in range(1, left + 1)) and all(
            value <= arrays.low[p + k] for k in range(1, right + 1)
        )

    pivots = range(left, len(arrays) - right)
    highs = [p for p in pivots if is_high(p)]
    lows = [p for p in pivots if is_low(p)]
    result: dict[str, list] = {"high": [], "low": []}
    for t in range(len(arrays)):
        confirmed_highs = [p for p in highs if p + right <= t]
        confirmed_lows = [p for p in lows if p + right <= t]
        result["high"].append(arrays.high[confirmed_highs[-1]] if confirmed_highs else NAN)
        result["low"].append(arrays.low[confirmed_lows[-1]] if confirmed_lows else NAN)
    return result


def order_block_reference(
    arrays: PriceArrays, lookback: int, atr_period: int, displacement: float
) -> dict[str, list]:
    """The block at t: from the latest displacement d <= t that found an opposite candle b
    (d - b <= lookback); live while t - b <= lookback and no close in [d, t] broke it."""
    atr = _wilder_atr(arrays, atr_period)
    open_, high, low, close = arrays.open, arrays.high, arrays.low, arrays.close
    result: dict[str, list] = {
        key: []
        for key in (
            "bullish_high",
            "bullish_low",
            "bearish_high",
            "bearish_low",
            "bullish_distance_atr",
            "bearish_distance_atr",
        )
    }

    def block_formed_at(d: int, bullish: bool) -> int | None:
        if d < 1 or math.isnan(atr[d - 1]):
            return None
        body = (close[d] - open_[d]) if bullish else (open_[d] - close[d])
        if body <= displacement * atr[d - 1]:
            return None
        for b in range(d - 1, max(d - lookback, 0) - 1, -1):
            if (close[b] < open_[b]) if bullish else (close[b] > open_[b]):
                return b
        return None

    blocks = {
        bullish: [
            (d, b) for d in range(len(arrays)) if (b := block_formed_at(d, bullish)) is not None
        ]
        for bullish in (True, False)
    }
    for t in range(len(arrays)):
        for side, bullish in (("bullish", True), ("bearish", False)):
            top = bottom = distance = NAN
            formed = [(d, b) for d, b in blocks[bullish] if d <= t]
            if formed:
                d, b = formed[-1]
                if bullish:
                    broken = any(close[j] < low[b] for j in range(d, t + 1))
                else:
                    broken = any(close[j] > high[b] for j in range(d, t + 1))
                if not broken and t - b <= lookback:
                    top, bottom = high[b], low[b]
                    if close[t] > top:
                        distance = (close[t] - top) / atr[t]
                    elif close[t] < bottom:
                        distance = (bottom - close[t]) / atr[t]
                    else:
                        distance = 0.0
            result[f"{side}_high"].append(top)
            result[f"{side}_low"].append(bottom)
            result[f"{side}_distance_atr"].append(distance)
    return result


def fair_value_gap_reference(
    arrays: PriceArrays, lookback: int, min_size_percent: float
) -> dict[str, list]:
    high, low, close = arrays.high, arrays.low, arrays.close
    size = len(arrays)
    result: dict[str, list] = {
        key: [NAN, NAN][: min(2, size)]
        for key in (
            "bullish_top",
            "bullish_bottom",
            "bearish_top",
            "bearish_bottom",
            "in_bullish",
            "in_bearish",
        )
    }
    gaps: dict[str, list[tuple[int, float, float, int]]] = {"bullish": [], "bearish": []}
    for g in range(2, size):
        for side in ("bullish", "bearish"):
            if side == "bullish":
                top, bottom = low[g], high[g - 2]
            else:
                top, bottom = low[g - 2], high[g]
            if top <= bottom or top - bottom < min_size_percent / 100 * close[g]:
                continue
            filled_at = next(
                (
                    j
                    for j in range(g + 1, size)
                    if (low[j] <= bottom if side == "bullish" else high[j] >= top)
                ),
                size,
            )
            gaps[side].append((g, top, bottom, filled_at))
    for t in range(2, size):
        for side in ("bullish", "bearish"):
            live = [
                (top, bottom)
                for g, top, bottom, filled_at in gaps[side]
                if g <= t < filled_at and t - g <= lookback
            ]
            top, bottom = live[-1] if live else (NAN, NAN)
            result[f"{side}_top"].append(top)
            result[f"{side}_bottom"].append(bottom)
            result[f"in_{side}"].append(1.0 if live and bottom <= close[t] <= top else 0.0)
    return result


def previous_session_reference(arrays: PriceArrays) -> dict[str, list]:
    result: dict[str, list] = {"high": [], "low": [], "close": []}
    sessions = _sessions(arrays)
    for t in range(len(arrays)):
        earlier = sessions.get(int(arrays.session[t]) - 1)
        result["high"].append(max(arrays.high[i] for i in earlier) if earlier else NAN)
        result["low"].append(min(arrays.low[i] for i in earlier) if earlier else NAN)
        result["close"].append(arrays.close[earlier[-1]] if earlier else NAN)
    return result


def _assert_matches(actual: dict[str, np.ndarray], expected: dict[str, list]) -> None:
    assert set(actual) == set(expected)
    for output, values in expected.items():
        np.testing.assert_allclose(
            actual[output],
            np.array(values, dtype=float),
            rtol=1e-9,
            equal_nan=True,
            err_msg=output,
        )


@pytest.mark.parametrize(("period", "multiplier"), [(10, 3.0), (7, 1.5), (2, 0.5)])
def test_supertrend_matches_reference(
    market_arrays: PriceArrays, period: int, multiplier: float
) -> None:
    actual = _compute("supertrend", market_arrays, {"period": period, "multiplier": multiplier})
    _assert_matches(actual, supertrend_reference(market_arrays, period, multiplier))
    flips = np.count_nonzero(np.diff(actual["direction"][period:]))
    assert flips > 3, "the fixture data should make Supertrend flip several times"


def test_vwap_matches_reference_and_resets_each_session(market_arrays: PriceArrays) -> None:
    arrays = market_arrays.head(800)
    actual = _compute("vwap", arrays, {})
    _assert_matches(actual, vwap_reference(arrays))
    first_bar_of_session = np.flatnonzero(np.diff(arrays.session)) + 1
    typical = (arrays.high + arrays.low + arrays.close) / 3
    np.testing.assert_allclose(
        actual["vwap"][first_bar_of_session], typical[first_bar_of_session], rtol=1e-12
    )


@pytest.mark.parametrize("minutes", [1, 15, 30, 375])
def test_opening_range_matches_reference(market_arrays: PriceArrays, minutes: int) -> None:
    actual = _compute("opening_range", market_arrays, {"minutes": minutes})
    _assert_matches(actual, opening_range_reference(market_arrays, minutes))


@pytest.mark.parametrize(("left", "right"), [(3, 3), (1, 1), (5, 2), (2, 8)])
def test_swings_match_reference(market_arrays: PriceArrays, left: int, right: int) -> None:
    arrays = market_arrays.head(500)
    actual = _compute("swings", arrays, {"left": left, "right": right})
    _assert_matches(actual, swings_reference(arrays, left, right))


@pytest.mark.parametrize(
    ("lookback", "atr_period", "displacement"), [(50, 14, 1.5), (10, 5, 1.0), (200, 3, 2.0)]
)
def test_order_block_matches_reference(
    market_arrays: PriceArrays, lookback: int, atr_period: int, displacement: float
) -> None:
    arrays = market_arrays
    params = {"lookback": lookback, "atr_period": atr_period, "displacement": displacement}
    actual = _compute("order_block", arrays, params)
    _assert_matches(actual, order_block_reference(arrays, lookback, atr_period, displacement))
    assert np.isfinite(actual["bullish_high"]).any() and np.isfinite(actual["bearish_high"]).any()


@pytest.mark.parametrize(("lookback", "min_size_percent"), [(100, 0.0), (5, 0.0), (50, 0.01)])
def test_fair_value_gap_matches_reference(
    market_arrays: PriceArrays, lookback: int, min_size_percent: float
) -> None:
    actual = _compute(
        "fair_value_gap",
        market_arrays,
        {"lookback": lookback, "min_size_percent": min_size_percent},
    )
    _assert_matches(actual, fair_value_gap_reference(market_arrays, lookback, min_size_percent))
    assert actual["in_bullish"][2:].any() and actual["in_bearish"][2:].any()


def test_previous_session_matches_reference(market_arrays: PriceArrays) -> None:
    actual = _compute("previous_session", market_arrays, {})
    _assert_matches(actual, previous_session_reference(market_arrays))
