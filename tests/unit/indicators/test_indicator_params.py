"""Parameter and output validation: every refusal names the field and says how to fix it."""

from __future__ import annotations

import math

import pytest

from tradeloop.domain.indicators import get_indicator
from tradeloop.errors import SpecError


def test_missing_params_take_their_defaults() -> None:
    assert get_indicator("macd").validate_params({"fast_period": 8}) == {
        "fast_period": 8.0,
        "slow_period": 26.0,
        "signal_period": 9.0,
    }


def test_whole_float_is_accepted_for_an_int_param() -> None:
    assert get_indicator("rsi").validate_params({"period": 21.0}) == {"period": 21.0}


def test_out_of_range_names_indicator_param_value_and_range() -> None:
    with pytest.raises(SpecError, match=r"^rsi\.period=500 is out of range 2\.\.200$"):
        get_indicator("rsi").validate_params({"period": 500})


def test_out_of_range_float_shows_the_float_range() -> None:
    with pytest.raises(SpecError, match=r"^supertrend\.multiplier=25 is out of range 0\.1\.\.20$"):
        get_indicator("supertrend").validate_params({"multiplier": 25.0})


def test_unknown_param_suggests_the_closest_and_lists_the_valid_ones() -> None:
    with pytest.raises(SpecError) as raised:
        get_indicator("macd").validate_params({"slow_perod": 30})
    assert str(raised.value) == (
        "macd has no parameter 'slow_perod'; did you mean 'slow_period'? "
        "Valid parameters: fast_period, slow_period, signal_period"
    )


def test_unknown_param_of_an_indicator_without_params() -> None:
    with pytest.raises(
        SpecError, match=r"^vwap has no parameter 'period' \(it takes no parameters\)$"
    ):
        get_indicator("vwap").validate_params({"period": 20})


def test_fractional_value_for_int_param_is_refused() -> None:
    with pytest.raises(SpecError, match=r"^rsi\.period=14\.5 must be a whole number in 2\.\.200$"):
        get_indicator("rsi").validate_params({"period": 14.5})


@pytest.mark.parametrize("value", ["14", None, True, [14]])
def test_non_numeric_value_is_refused_with_the_expected_type(value: object) -> None:
    with pytest.raises(SpecError, match=r"^rsi\.period=.* is not a number; give a whole number"):
        get_indicator("rsi").validate_params({"period": value})


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_value_is_refused(value: float) -> None:
    with pytest.raises(SpecError, match=r"^bbands\.deviations=.* must be a finite number"):
        get_indicator("bbands").validate_params({"deviations": value})


def test_macd_fast_period_must_be_below_slow_period() -> None:
    with pytest.raises(
        SpecError, match=r"^macd: fast_period=30 must be below slow_period=26 \(e\.g\. 12 and 26\)$"
    ):
        get_indicator("macd").validate_params({"fast_period": 30})


def test_sar_acceleration_must_not_exceed_maximum() -> None:
    with pytest.raises(SpecError, match=r"^sar: acceleration=0\.3 must not exceed maximum=0\.2"):
        get_indicator("sar").validate_params({"acceleration": 0.3})


def test_unknown_output_suggests_the_closest() -> None:
    with pytest.raises(SpecError) as raised:
        get_indicator("bbands").validate_output("uper")
    assert str(raised.value) == (
        "bbands has no output 'uper'; did you mean 'upper'? Valid outputs: upper, middle, lower"
    )


def test_no_output_means_the_default_output() -> None:
    assert get_indicator("macd").validate_output(None) == "macd"
    assert get_indicator("supertrend").validate_output("direction") == "direction"
