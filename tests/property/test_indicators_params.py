"""Parameter validation of every indicator: in-range values pass, anything else is refused with
a message that names the indicator, the parameter, the value and the valid range or names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.indicators import get_indicator, indicator_names
from tradeloop.domain.indicators.base import Param
from tradeloop.errors import SpecError

WITH_PARAMS = [name for name in indicator_names() if get_indicator(name).params]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@pytest.mark.parametrize("name", WITH_PARAMS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_out_of_range_value_is_refused_naming_param_value_and_range(
    name: str, data: st.DataObject
) -> None:
    definition = get_indicator(name)
    param: Param = data.draw(st.sampled_from(definition.params))
    below = st.integers(-10_000, int(param.minimum) - 1)
    above = st.integers(int(param.maximum) + 1, 100_000)
    value = data.draw(st.one_of(below, above))
    with pytest.raises(SpecError) as raised:
        definition.validate_params({param.name: value})
    expected = (
        f"{name}.{param.name}={value} is out of range "
        f"{_number(param.minimum)}..{_number(param.maximum)}"
    )
    assert str(raised.value) == expected


@pytest.mark.parametrize("name", WITH_PARAMS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_unknown_param_is_refused_listing_the_valid_names(name: str, data: st.DataObject) -> None:
    definition = get_indicator(name)
    valid = [param.name for param in definition.params]
    unknown = data.draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=15))
    if unknown in valid:
        return
    with pytest.raises(SpecError) as raised:
        definition.validate_params({unknown: 1})
    message = str(raised.value)
    assert message.startswith(f"{name} has no parameter {unknown!r}; ")
    assert message.endswith(f"alid parameters: {', '.join(valid)}")
    suggestion = re.search(r"did you mean '(\w+)'\?", message)
    assert suggestion is None or suggestion.group(1) in valid


@pytest.mark.parametrize("name", WITH_PARAMS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_near_miss_param_name_gets_a_did_you_mean(name: str, data: st.DataObject) -> None:
    definition = get_indicator(name)
    param: Param = data.draw(st.sampled_from(definition.params))
    position = data.draw(st.integers(0, len(param.name) - 1))
    typo = param.name[:position] + param.name[position + 1 :]  # one letter dropped
    if typo in {p.name for p in definition.params} or not typo:
        return
    with pytest.raises(SpecError, match=r"did you mean '\w+'\?"):
        definition.validate_params({typo: param.default})
