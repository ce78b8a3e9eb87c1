"""Computes each (indicator, params) once per candle history and shares it across specs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.indicators.registry import get_indicator

CacheKey = tuple[str, tuple[tuple[str, float], ...]]


class IndicatorCache:
    """Computes each (indicator, params) once per `PriceArrays` and shares the outputs across specs.

    Params are validated and defaults filled before keying, so `{"period": 14}` and `{}` share
    one entry for RSI. Returned arrays are read-only: one spec cannot corrupt another's input.
    Not thread-safe; use one cache per worker.
    """

    def __init__(self, arrays: PriceArrays) -> None:
        self.arrays = arrays
        self.hits = 0
        self.misses = 0
        self._outputs: dict[CacheKey, dict[str, np.ndarray]] = {}

    @staticmethod
    def key(name: str, params: Mapping[str, object]) -> CacheKey:
        """The canonical key: (name, sorted (param, float value)) after defaults are filled."""
        values = get_indicator(name).validate_params(params)
        return name, tuple(sorted((param, float(value)) for param, value in values.items()))

    def get(self, name: str, params: Mapping[str, object], output: str | None = None) -> np.ndarray:
        """One output (`None` = the indicator's default output) of `name` with `params`."""
        definition = get_indicator(name)
        output_name = definition.validate_output(output)
        return self.outputs(name, params)[output_name]

    def outputs(self, name: str, params: Mapping[str, object]) -> Mapping[str, np.ndarray]:
        """Every output of `name` with `params`, computed on first use."""
        key = self.key(name, params)
        cached = self._outputs.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        computed = get_indicator(name).compute(self.arrays, dict(key[1]))
        for values in computed.values():
            values.flags.writeable = False
        self._outputs[key] = computed
        return computed

    def evict(self, name: str, params: Mapping[str, object]) -> bool:
        """Drop one entry (when no later spec needs it); True when it was stored."""
        return self._outputs.pop(self.key(name, params), None) is not None

    def __len__(self) -> int:
        """How many (indicator, params) entries are stored."""
        return len(self._outputs)
