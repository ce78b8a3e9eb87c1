"""Indicators computed by TA-Lib: the factory that wraps a TA-Lib function as an IndicatorDef.

Each definition maps our parameter names (full words) onto the TA-Lib function's keyword
arguments and our output names onto TA-Lib's outputs. The warm-up is TA-Lib's own lookback for
those arguments, so it is exact: outputs are NaN on the first `warmup` bars of a series and
finite from there on (for finite prices). TA-Lib's recursive indicators (EMA, RSI, ATR, ADX, ...)
seed from the first window of the series, so their value at `t` depends on where the series
starts, never on bars after `t`; the unstable-period setting is left at TA-Lib's default (0).
The definitions themselves are in `talib_catalogue.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

import numpy as np

from tradeloop.domain.indicators._talib import abstract, talib
from tradeloop.domain.indicators.base import IndicatorDef, Param, PriceArrays, Unit

TalibArguments = Callable[[Mapping[str, float]], dict[str, float]]


@lru_cache(maxsize=4096)
def _lookback(function: str, arguments: tuple[tuple[str, float], ...]) -> int:
    handle = abstract.Function(function)  # type: ignore[attr-defined]
    handle.parameters = dict(arguments)
    return int(handle.lookback)


def talib_indicator(
    *,
    name: str,
    function: str,
    description: str,
    inputs: tuple[str, ...],
    params: tuple[Param, ...],
    arguments: TalibArguments,
    outputs: tuple[tuple[str, int], ...],
    units: tuple[Unit, ...],
    definition: str,
    constraint: Callable[[Mapping[str, float]], str | None] | None = None,
) -> IndicatorDef:
    """An `IndicatorDef` that calls `talib.<function>(*inputs, **arguments(params))`.

    `outputs` pairs each of our output names with the index of TA-Lib's output it takes.
    """
    talib_function = getattr(talib, function)

    def compute(arrays: PriceArrays, values: Mapping[str, float]) -> dict[str, np.ndarray]:
        columns = [getattr(arrays, column) for column in inputs]
        result = talib_function(*columns, **arguments(values))
        results = result if isinstance(result, tuple) else (result,)
        return {output: np.asarray(results[index], dtype=np.float64) for output, index in outputs}

    def warmup(values: Mapping[str, float]) -> int:
        return _lookback(function, tuple(sorted(arguments(values).items())))

    return IndicatorDef(
        name=name,
        description=description,
        params=params,
        outputs=tuple(output for output, _ in outputs),
        source="talib",
        compute=compute,
        warmup=warmup,
        units=units,
        constraint=constraint,
        definition=definition,
        warmup_note="TA-Lib lookback",
    )
