"""The compiler's bitset kernels equal the numpy expressions they replace, on any length."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.strategy.bar_masks import finite_bits, unpack_bits

_VALUES = st.lists(st.sampled_from([1.0, -2.5, 0.0, np.nan, np.inf, -np.inf, 1e308]), max_size=70)


# No deadline: the first example loads the compiled kernels.
@settings(deadline=None)
@given(warm_up=st.integers(0, 40), rest=_VALUES)
def test_finite_bits_are_packed_isfinite(warm_up: int, rest: list[float]) -> None:
    values = np.array([np.nan] * warm_up + rest, dtype=np.float64)
    bits = finite_bits(values, np.empty(len(values), dtype=bool))
    expected = np.packbits(np.isfinite(values), bitorder="little")
    np.testing.assert_array_equal(bits, expected)


def test_finite_bits_of_a_sum_that_overflows_are_still_exact() -> None:
    values = np.array([np.nan, 1e308, 1e308, 1e308])
    bits = finite_bits(values, np.empty(4, dtype=bool))
    np.testing.assert_array_equal(bits, np.packbits([False, True, True, True], bitorder="little"))


@settings(deadline=None)
@given(st.lists(st.booleans(), max_size=200))
def test_unpack_bits_restores_the_mask_over_any_previous_content(mask: list[bool]) -> None:
    expected = np.array(mask, dtype=bool)
    out = np.ones(len(mask), dtype=bool)  # unpack writes every element, not only the set ones
    unpack_bits(np.packbits(expected, bitorder="little"), out)
    np.testing.assert_array_equal(out, expected)
