"""Native indicators against small hand-computed fixtures in tests/data/indicators/."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tradeloop.domain.indicators import PriceArrays, get_indicator

FixtureLoader = Callable[[str], tuple[PriceArrays, dict[str, np.ndarray]]]

CASES = [
    ("supertrend", "supertrend", {"period": 1, "multiplier": 1}),
    ("vwap", "vwap", {}),
    ("opening_range_1m", "opening_range", {"minutes": 3}),
    ("opening_range_5m", "opening_range", {"minutes": 15}),
    ("swings", "swings", {"left": 2, "right": 1}),
    ("order_block", "order_block", {"lookback": 3, "atr_period": 1, "displacement": 1}),
    ("fair_value_gap", "fair_value_gap", {"lookback": 3, "min_size_percent": 0}),
    ("previous_session", "previous_session", {}),
]


@pytest.mark.parametrize(("fixture", "name", "params"), CASES, ids=[case[0] for case in CASES])
def test_native_indicator_matches_hand_computed_fixture(
    fixture: str, name: str, params: dict[str, float], load_indicator_fixture: FixtureLoader
) -> None:
    arrays, expected = load_indicator_fixture(fixture)
    definition = get_indicator(name)
    outputs = definition.compute(arrays, definition.validate_params(params))
    assert set(expected) == set(definition.outputs)
    for output, values in expected.items():
        np.testing.assert_allclose(
            outputs[output], values, rtol=0, atol=1e-12, equal_nan=True, err_msg=output
        )
