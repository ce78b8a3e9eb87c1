"""Indicators: TA-Lib-backed and native (Supertrend, VWAP, swings, order blocks, gaps).

`REGISTRY` maps each name a strategy spec may use to its `IndicatorDef`; `IndicatorCache`
computes each (indicator, params) once per candle history. See docs/indicators.md.
"""

from tradeloop.domain.indicators.base import IndicatorDef, Param, PriceArrays
from tradeloop.domain.indicators.cache import IndicatorCache
from tradeloop.domain.indicators.registry import REGISTRY, get_indicator, indicator_names

__all__ = [
    "REGISTRY",
    "IndicatorCache",
    "IndicatorDef",
    "Param",
    "PriceArrays",
    "get_indicator",
    "indicator_names",
]
