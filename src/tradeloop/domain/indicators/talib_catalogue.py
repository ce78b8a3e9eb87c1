"""The TA-Lib-backed indicators: our parameter and output names mapped onto TA-Lib's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from tradeloop.domain.indicators.base import IndicatorDef, Param, Unit
from tradeloop.domain.indicators.talib_backed import talib_indicator


def _period(default: int, minimum: int = 2, maximum: int = 200, what: str = "bars") -> Param:
    return Param("period", "int", default, minimum, maximum, f"window length in {what}")


def _timeperiod(values: Mapping[str, float]) -> dict[str, float]:
    return {"timeperiod": int(values["period"])}


def _moving_average(name: str, function: str, label: str, definition: str) -> IndicatorDef:
    return talib_indicator(
        name=name,
        function=function,
        description=f"{label} of the close over `period` bars",
        inputs=("close",),
        params=(_period(20, 2, 500),),
        arguments=_timeperiod,
        outputs=((name, 0),),
        units=("price",),
        definition=definition,
    )


def _single(
    name: str,
    function: str,
    description: str,
    inputs: tuple[str, ...],
    default: int,
    unit: Unit,
    definition: str,
    minimum: int = 2,
    maximum: int = 200,
) -> IndicatorDef:
    return talib_indicator(
        name=name,
        function=function,
        description=description,
        inputs=inputs,
        params=(_period(default, minimum, maximum),),
        arguments=_timeperiod,
        outputs=((name, 0),),
        units=(unit,),
        definition=definition,
    )


def _macd_arguments(values: Mapping[str, float]) -> dict[str, float]:
    return {
        "fastperiod": int(values["fast_period"]),
        "slowperiod": int(values["slow_period"]),
        "signalperiod": int(values["signal_period"]),
    }


def _macd_constraint(values: Mapping[str, float]) -> str | None:
    if values["fast_period"] >= values["slow_period"]:
        return (
            f"fast_period={int(values['fast_period'])} must be below "
            f"slow_period={int(values['slow_period'])} (e.g. 12 and 26)"
        )
    return None


def _bbands_arguments(values: Mapping[str, float]) -> dict[str, float]:
    deviations = float(values["deviations"])
    return {
        "timeperiod": int(values["period"]),
        "nbdevup": deviations,
        "nbdevdn": deviations,
        "matype": 0,
    }


def _stoch_arguments(values: Mapping[str, float]) -> dict[str, float]:
    return {
        "fastk_period": int(values["k_period"]),
        "slowk_period": int(values["k_smoothing"]),
        "slowk_matype": 0,
        "slowd_period": int(values["d_period"]),
        "slowd_matype": 0,
    }


def _sar_arguments(values: Mapping[str, float]) -> dict[str, float]:
    return {"acceleration": float(values["acceleration"]), "maximum": float(values["maximum"])}


def _sar_constraint(values: Mapping[str, float]) -> str | None:
    if values["acceleration"] > values["maximum"]:
        return (
            f"acceleration={values['acceleration']:g} must not exceed "
            f"maximum={values['maximum']:g} (e.g. 0.02 and 0.2)"
        )
    return None


def _stddev_arguments(values: Mapping[str, float]) -> dict[str, float]:
    return {"timeperiod": int(values["period"]), "nbdev": 1.0}


_HLC: Final = ("high", "low", "close")

TALIB_INDICATORS: Final[tuple[IndicatorDef, ...]] = (
    _moving_average("sma", "SMA", "Simple moving average", "mean of the last `period` closes"),
    _moving_average(
        "ema",
        "EMA",
        "Exponential moving average",
        "EMA with alpha 2/(period+1), seeded with the SMA of the first `period` closes",
    ),
    _moving_average(
        "wma", "WMA", "Linearly weighted moving average", "weights 1..period, newest heaviest"
    ),
    _moving_average("dema", "DEMA", "Double EMA", "2·EMA − EMA(EMA)"),
    _moving_average("tema", "TEMA", "Triple EMA", "3·EMA − 3·EMA(EMA) + EMA(EMA(EMA))"),
    _single(
        "rsi",
        "RSI",
        "Relative strength index (Wilder) of the close, 0..100",
        ("close",),
        14,
        "percent",
        "100 − 100/(1 + RS), RS = Wilder-smoothed gains / losses over `period` closes",
    ),
    talib_indicator(
        name="macd",
        function="MACD",
        description="MACD line, its signal line and the histogram (price points)",
        inputs=("close",),
        params=(
            Param("fast_period", "int", 12, 2, 100, "fast EMA length in bars"),
            Param("slow_period", "int", 26, 3, 200, "slow EMA length in bars"),
            Param("signal_period", "int", 9, 1, 100, "EMA length of the signal line"),
        ),
        arguments=_macd_arguments,
        outputs=(("macd", 0), ("signal", 1), ("histogram", 2)),
        units=("points", "points", "points"),
        definition="macd = EMA(fast) − EMA(slow); signal = EMA(macd, signal_period); "
        "histogram = macd − signal",
        constraint=_macd_constraint,
    ),
    _single(
        "atr",
        "ATR",
        "Average true range (Wilder), in price points",
        _HLC,
        14,
        "points",
        "Wilder's smoothing of the true range max(high, prev close) − min(low, prev close)",
        minimum=1,
    ),
    _single(
        "natr",
        "NATR",
        "Normalised ATR: ATR as a percent of the close",
        _HLC,
        14,
        "percent",
        "100 · ATR(period) / close",
        minimum=1,
    ),
    talib_indicator(
        name="bbands",
        function="BBANDS",
        description="Bollinger bands: SMA of the close ± `deviations` standard deviations",
        inputs=("close",),
        params=(
            _period(20, 2, 200),
            Param("deviations", "float", 2.0, 0.1, 5.0, "band width in standard deviations"),
        ),
        arguments=_bbands_arguments,
        outputs=(("upper", 0), ("middle", 1), ("lower", 2)),
        units=("price", "price", "price"),
        definition="middle = SMA(period); upper/lower = middle ± deviations · population "
        "standard deviation of the last `period` closes",
    ),
    _single(
        "adx",
        "ADX",
        "Average directional index (trend strength, 0..100)",
        _HLC,
        14,
        "percent",
        "Wilder-smoothed DX = 100·|+DI − −DI|/(+DI + −DI)",
        maximum=100,
    ),
    _single(
        "plus_di",
        "PLUS_DI",
        "Plus directional indicator +DI (0..100)",
        _HLC,
        14,
        "percent",
        "100 · Wilder-smoothed +DM / ATR",
        maximum=100,
    ),
    _single(
        "minus_di",
        "MINUS_DI",
        "Minus directional indicator −DI (0..100)",
        _HLC,
        14,
        "percent",
        "100 · Wilder-smoothed −DM / ATR",
        maximum=100,
    ),
    talib_indicator(
        name="stoch",
        function="STOCH",
        description="Slow stochastic oscillator %K and %D (0..100)",
        inputs=_HLC,
        params=(
            Param("k_period", "int", 14, 1, 100, "bars in the high-low window of raw %K"),
            Param("k_smoothing", "int", 3, 1, 50, "SMA length that smooths raw %K into %K"),
            Param("d_period", "int", 3, 1, 50, "SMA length of %K that gives %D"),
        ),
        arguments=_stoch_arguments,
        outputs=(("k", 0), ("d", 1)),
        units=("percent", "percent"),
        definition="raw %K = 100·(close − lowest low)/(highest high − lowest low) over k_period; "
        "k = SMA(raw %K, k_smoothing); d = SMA(k, d_period)",
    ),
    _single(
        "cci",
        "CCI",
        "Commodity channel index",
        _HLC,
        20,
        "ratio",
        "(typical − SMA(typical)) / (0.015 · mean absolute deviation), typical = (h+l+c)/3",
    ),
    _single(
        "mfi",
        "MFI",
        "Money flow index: volume-weighted RSI of the typical price (0..100)",
        ("high", "low", "close", "volume"),
        14,
        "percent",
        "100 − 100/(1 + positive/negative money flow over `period` bars)",
    ),
    talib_indicator(
        name="obv",
        function="OBV",
        description="On-balance volume (cumulative, signed by the close's direction)",
        inputs=("close", "volume"),
        params=(),
        arguments=lambda values: {},
        outputs=(("obv", 0),),
        units=("volume",),
        definition="starts at the first bar's volume; adds the volume when the close rises, "
        "subtracts it when it falls",
    ),
    _single(
        "roc",
        "ROC",
        "Rate of change of the close over `period` bars, in percent",
        ("close",),
        10,
        "percent",
        "100 · (close / close[period bars ago] − 1)",
        minimum=1,
    ),
    _single(
        "willr",
        "WILLR",
        "Williams %R (−100..0)",
        _HLC,
        14,
        "percent",
        "−100 · (highest high − close) / (highest high − lowest low) over `period` bars",
    ),
    _single(
        "mom",
        "MOM",
        "Momentum: change of the close over `period` bars, in points",
        ("close",),
        10,
        "points",
        "close − close[period bars ago]",
        minimum=1,
    ),
    _single(
        "trix",
        "TRIX",
        "TRIX: one-bar percent change of a triple-smoothed EMA of the close",
        ("close",),
        15,
        "percent",
        "100 · (E3 / E3[1 bar ago] − 1), E3 = EMA(EMA(EMA(close)))",
        minimum=1,
        maximum=100,
    ),
    talib_indicator(
        name="aroon",
        function="AROON",
        description="Aroon up/down: how recently the highest high / lowest low occurred (0..100)",
        inputs=("high", "low"),
        params=(_period(14, 2, 200),),
        arguments=_timeperiod,
        outputs=(("up", 1), ("down", 0)),
        units=("percent", "percent"),
        definition="up = 100·(period − bars since the highest high)/period over period+1 bars; "
        "down likewise with the lowest low",
    ),
    talib_indicator(
        name="sar",
        function="SAR",
        description="Parabolic SAR (stop and reverse), a trailing price level",
        inputs=("high", "low"),
        params=(
            Param("acceleration", "float", 0.02, 0.001, 0.5, "acceleration factor step"),
            Param("maximum", "float", 0.2, 0.01, 1.0, "maximum acceleration factor"),
        ),
        arguments=_sar_arguments,
        outputs=(("sar", 0),),
        units=("price",),
        definition="Wilder's parabolic SAR as TA-Lib computes it (direction from the first two "
        "bars' directional movement)",
        constraint=_sar_constraint,
    ),
    _single(
        "highest",
        "MAX",
        "Highest high of the last `period` bars (including this one)",
        ("high",),
        20,
        "price",
        "max(high[t−period+1 .. t])",
        maximum=500,
    ),
    _single(
        "lowest",
        "MIN",
        "Lowest low of the last `period` bars (including this one)",
        ("low",),
        20,
        "price",
        "min(low[t−period+1 .. t])",
        maximum=500,
    ),
    talib_indicator(
        name="stddev",
        function="STDDEV",
        description="Standard deviation of the close over `period` bars, in points",
        inputs=("close",),
        params=(_period(20, 2, 200),),
        arguments=_stddev_arguments,
        outputs=(("stddev", 0),),
        units=("points",),
        definition="population standard deviation of the last `period` closes",
    ),
)
