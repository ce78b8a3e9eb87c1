"""Every TA-Lib-backed output equals calling `talib` directly, and its warm-up is exact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
import talib

from tradeloop.domain.indicators import REGISTRY, PriceArrays, get_indicator

SMA = talib.MA_Type.SMA
Direct = Callable[[PriceArrays, Mapping[str, Any]], dict[str, np.ndarray]]


def _hlc(arrays: PriceArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return arrays.high, arrays.low, arrays.close


# Written out by hand from TA-Lib's documentation, not from our mapping tables.
DIRECT: dict[str, tuple[Direct, list[dict[str, Any]]]] = {
    "sma": (lambda a, p: {"sma": talib.SMA(a.close, p["period"])}, [{}, {"period": 7}]),
    "ema": (lambda a, p: {"ema": talib.EMA(a.close, p["period"])}, [{}, {"period": 50}]),
    "wma": (lambda a, p: {"wma": talib.WMA(a.close, p["period"])}, [{}, {"period": 9}]),
    "dema": (lambda a, p: {"dema": talib.DEMA(a.close, p["period"])}, [{}, {"period": 5}]),
    "tema": (lambda a, p: {"tema": talib.TEMA(a.close, p["period"])}, [{}, {"period": 8}]),
    "rsi": (lambda a, p: {"rsi": talib.RSI(a.close, p["period"])}, [{}, {"period": 2}]),
    "macd": (
        lambda a, p: dict(
            zip(
                ("macd", "signal", "histogram"),
                talib.MACD(a.close, p["fast_period"], p["slow_period"], p["signal_period"]),
                strict=True,
            )
        ),
        [{}, {"fast_period": 5, "slow_period": 35, "signal_period": 5}],
    ),
    "atr": (lambda a, p: {"atr": talib.ATR(*_hlc(a), p["period"])}, [{}, {"period": 1}]),
    "natr": (lambda a, p: {"natr": talib.NATR(*_hlc(a), p["period"])}, [{}, {"period": 30}]),
    "bbands": (
        lambda a, p: dict(
            zip(
                ("upper", "middle", "lower"),
                talib.BBANDS(a.close, p["period"], p["deviations"], p["deviations"], SMA),
                strict=True,
            )
        ),
        [{}, {"period": 10, "deviations": 1.5}],
    ),
    "adx": (lambda a, p: {"adx": talib.ADX(*_hlc(a), p["period"])}, [{}, {"period": 7}]),
    "plus_di": (
        lambda a, p: {"plus_di": talib.PLUS_DI(*_hlc(a), p["period"])},
        [{}, {"period": 5}],
    ),
    "minus_di": (
        lambda a, p: {"minus_di": talib.MINUS_DI(*_hlc(a), p["period"])},
        [{}, {"period": 5}],
    ),
    "stoch": (
        lambda a, p: dict(
            zip(
                ("k", "d"),
                talib.STOCH(*_hlc(a), p["k_period"], p["k_smoothing"], SMA, p["d_period"], SMA),
                strict=True,
            )
        ),
        [{}, {"k_period": 5, "k_smoothing": 1, "d_period": 4}],
    ),
    "cci": (lambda a, p: {"cci": talib.CCI(*_hlc(a), p["period"])}, [{}, {"period": 14}]),
    "mfi": (
        lambda a, p: {"mfi": talib.MFI(*_hlc(a), a.volume, p["period"])},
        [{}, {"period": 3}],
    ),
    "obv": (lambda a, p: {"obv": talib.OBV(a.close, a.volume)}, [{}]),
    "roc": (lambda a, p: {"roc": talib.ROC(a.close, p["period"])}, [{}, {"period": 1}]),
    "willr": (lambda a, p: {"willr": talib.WILLR(*_hlc(a), p["period"])}, [{}, {"period": 3}]),
    "mom": (lambda a, p: {"mom": talib.MOM(a.close, p["period"])}, [{}, {"period": 25}]),
    "trix": (lambda a, p: {"trix": talib.TRIX(a.close, p["period"])}, [{}, {"period": 4}]),
    "aroon": (
        lambda a, p: dict(
            zip(("down", "up"), talib.AROON(a.high, a.low, p["period"]), strict=True)
        ),
        [{}, {"period": 25}],
    ),
    "sar": (
        lambda a, p: {"sar": talib.SAR(a.high, a.low, p["acceleration"], p["maximum"])},
        [{}, {"acceleration": 0.01, "maximum": 0.1}],
    ),
    "highest": (lambda a, p: {"highest": talib.MAX(a.high, p["period"])}, [{}, {"period": 3}]),
    "lowest": (lambda a, p: {"lowest": talib.MIN(a.low, p["period"])}, [{}, {"period": 3}]),
    "stddev": (
        lambda a, p: {"stddev": talib.STDDEV(a.close, p["period"], 1.0)},
        [{}, {"period": 5}],
    ),
}

CASES = [(name, params) for name, (_, param_sets) in DIRECT.items() for params in param_sets]


def _as_call_arguments(name: str, params: Mapping[str, float]) -> dict[str, Any]:
    kinds = {param.name: param.kind for param in get_indicator(name).params}
    return {key: int(value) if kinds[key] == "int" else value for key, value in params.items()}


def test_every_talib_indicator_has_a_direct_comparison() -> None:
    talib_backed = {name for name, definition in REGISTRY.items() if definition.source == "talib"}
    assert talib_backed == set(DIRECT)


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_talib_backed_output_equals_direct_talib_call(
    name: str, params: dict[str, Any], market_arrays: PriceArrays
) -> None:
    definition = get_indicator(name)
    values = definition.validate_params(params)
    direct, _ = DIRECT[name]
    expected = direct(market_arrays, _as_call_arguments(name, values))
    outputs = definition.compute(market_arrays, values)
    assert set(outputs) == set(expected) == set(definition.outputs)
    for output, series in outputs.items():
        assert series.dtype == np.float64
        np.testing.assert_array_equal(series, expected[output], err_msg=output)


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{p}" for n, p in CASES])
def test_talib_backed_warmup_is_exactly_the_leading_nans(
    name: str, params: dict[str, Any], market_arrays: PriceArrays
) -> None:
    definition = get_indicator(name)
    values = definition.validate_params(params)
    warmup = definition.warmup(values)
    for output, series in definition.compute(market_arrays, values).items():
        assert np.isnan(series[:warmup]).all(), output
        assert np.isfinite(series[warmup:]).all(), output
