"""The cache computes each (indicator, params) once and hands every spec the same arrays."""

from __future__ import annotations

import numpy as np
import pytest

from tradeloop.domain.indicators import IndicatorCache, PriceArrays, get_indicator
from tradeloop.errors import SpecError


def test_second_request_is_a_hit_returning_the_identical_array(market_arrays: PriceArrays) -> None:
    cache = IndicatorCache(market_arrays)
    first = cache.get("rsi", {"period": 14})
    second = cache.get("rsi", {"period": 14})
    assert second is first
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)


def test_defaults_and_int_or_float_spelling_share_one_entry(market_arrays: PriceArrays) -> None:
    cache = IndicatorCache(market_arrays)
    arrays = [
        cache.get("rsi", {}),
        cache.get("rsi", {"period": 14}),
        cache.get("rsi", {"period": 14.0}),
    ]
    assert arrays[0] is arrays[1] is arrays[2]
    assert (cache.hits, cache.misses) == (2, 1)


def test_outputs_of_one_computation_are_shared(market_arrays: PriceArrays) -> None:
    cache = IndicatorCache(market_arrays)
    macd = cache.get("macd", {})
    signal = cache.get("macd", {}, "signal")
    histogram = cache.get("macd", {"signal_period": 9}, "histogram")
    assert (cache.hits, cache.misses) == (2, 1)
    np.testing.assert_allclose(histogram, macd - signal, equal_nan=True, atol=1e-9)


def test_different_params_are_separate_entries(market_arrays: PriceArrays) -> None:
    cache = IndicatorCache(market_arrays)
    fast, slow = cache.get("ema", {"period": 5}), cache.get("ema", {"period": 50})
    assert not np.array_equal(fast, slow, equal_nan=True)
    assert (cache.hits, cache.misses, len(cache)) == (0, 2, 2)


def test_cached_values_equal_a_direct_computation(market_arrays: PriceArrays) -> None:
    cache = IndicatorCache(market_arrays)
    definition = get_indicator("supertrend")
    expected = definition.compute(market_arrays, definition.validate_params({"period": 7}))
    np.testing.assert_array_equal(cache.get("supertrend", {"period": 7}, "line"), expected["line"])


def test_cached_arrays_are_read_only(market_arrays: PriceArrays) -> None:
    values = IndicatorCache(market_arrays).get("sma", {"period": 5})
    with pytest.raises(ValueError, match="read-only"):
        values[10] = 0.0


def test_key_is_canonical_name_and_sorted_float_params() -> None:
    assert IndicatorCache.key("macd", {"slow_period": 30, "fast_period": 10}) == (
        "macd",
        (("fast_period", 10.0), ("signal_period", 9.0), ("slow_period", 30.0)),
    )


def test_invalid_requests_raise_spec_errors_and_store_nothing(market_arrays: PriceArrays) -> None:
    cache = IndicatorCache(market_arrays)
    with pytest.raises(SpecError, match="unknown indicator 'rsx'"):
        cache.get("rsx", {})
    with pytest.raises(SpecError, match=r"rsi\.period=1 is out of range"):
        cache.get("rsi", {"period": 1})
    with pytest.raises(SpecError, match="macd has no output 'sig'"):
        cache.get("macd", {}, "sig")
    assert (cache.hits, cache.misses, len(cache)) == (0, 0, 0)


def test_evicted_entry_is_recomputed_on_the_next_request(market_arrays: PriceArrays) -> None:
    cache = IndicatorCache(market_arrays)
    first = cache.get("atr", {"period": 14})
    assert cache.evict("atr", {}) is True
    assert cache.evict("atr", {}) is False
    assert len(cache) == 0
    again = cache.get("atr", {"period": 14})
    assert again is not first
    np.testing.assert_array_equal(again, first)
    assert (cache.hits, cache.misses) == (0, 2)
