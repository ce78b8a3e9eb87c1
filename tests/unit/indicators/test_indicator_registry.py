"""The registry: names, lookups with "did you mean", and the completeness of every definition."""

from __future__ import annotations

import pytest

from tradeloop.domain.indicators import REGISTRY, PriceArrays, get_indicator, indicator_names
from tradeloop.errors import SpecError


def test_unknown_indicator_error_suggests_the_closest_name_and_lists_all() -> None:
    with pytest.raises(SpecError) as raised:
        get_indicator("supertrnd")
    message = str(raised.value)
    assert message.startswith("unknown indicator 'supertrnd'; did you mean 'supertrend'?")
    assert "Valid indicators: " in message
    for name in ("rsi", "macd", "vwap", "order_block", "fair_value_gap"):
        assert name in message


def test_unknown_indicator_without_a_close_match_still_lists_the_names() -> None:
    with pytest.raises(SpecError, match=r"unknown indicator 'zzzz'; valid indicators: adx, "):
        get_indicator("zzzz")


def test_upper_case_name_is_refused_with_the_lower_case_suggestion() -> None:
    with pytest.raises(SpecError, match="did you mean 'rsi'"):
        get_indicator("RSI")


def test_names_are_sorted_and_cover_the_required_indicators() -> None:
    names = indicator_names()
    assert names == sorted(names) == list(REGISTRY)
    required = {
        "rsi", "ema", "sma", "wma", "macd", "atr", "bbands", "adx", "plus_di", "minus_di",
        "stoch", "cci", "mfi", "obv", "roc", "willr", "supertrend", "vwap", "opening_range",
        "swings", "order_block", "fair_value_gap",
    }  # fmt: skip
    assert required <= set(names)


def test_registry_cannot_be_modified() -> None:
    with pytest.raises(TypeError):
        REGISTRY["rsi"] = REGISTRY["ema"]  # type: ignore[index]


@pytest.mark.parametrize("name", indicator_names())
def test_definition_is_complete_and_its_defaults_are_valid(name: str) -> None:
    definition = get_indicator(name)
    assert definition.name == name == name.lower()
    assert definition.description and "\n" not in definition.description
    assert definition.definition
    assert definition.outputs and len(set(definition.outputs)) == len(definition.outputs)
    assert len(definition.units) == len(definition.outputs)
    assert definition.default_output == definition.outputs[0]
    for param in definition.params:
        assert param.minimum <= param.default <= param.maximum, param
        assert param.description
        if param.kind == "int":
            assert float(param.default).is_integer() and float(param.minimum).is_integer()
    defaults = definition.validate_params({})
    assert defaults == {param.name: float(param.default) for param in definition.params}
    assert definition.warmup(defaults) >= 0


@pytest.mark.parametrize("name", indicator_names())
def test_empty_and_one_bar_histories_give_aligned_nan_outputs(
    name: str, market_arrays: PriceArrays
) -> None:
    definition = get_indicator(name)
    params = definition.validate_params({})
    for arrays in (market_arrays.head(0), market_arrays.head(1)):
        outputs = definition.compute(arrays, params)
        assert list(outputs) == list(definition.outputs)
        assert all(len(values) == len(arrays) for values in outputs.values())
