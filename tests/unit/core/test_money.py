"""Rupee formatting: one formatter for every table and message."""

from __future__ import annotations

import math

import pytest

from tradeloop.domain.money import group_indian, rupees


@pytest.mark.parametrize(
    ("value", "paise", "shown"),
    [
        (1234567.891, True, "₹12,34,567.89"),
        (-98765.4, True, "-₹98,765.40"),
        (999.0, False, "₹999"),
        (100000.0, False, "₹1,00,000"),
        (12.345, True, "₹12.35"),
        (0.0, True, "₹0.00"),
        (-0.004, True, "₹0.00"),
        (1e7, False, "₹1,00,00,000"),
    ],
)
def test_rupees_use_indian_digit_grouping(value: float, paise: bool, shown: str) -> None:
    assert rupees(value, paise=paise) == shown


def test_non_finite_amounts_are_shown_as_they_are() -> None:
    assert rupees(math.inf) == "₹inf"
    assert rupees(math.nan) == "₹nan"


@pytest.mark.parametrize(
    ("whole", "grouped"),
    [(0, "0"), (999, "999"), (1000, "1,000"), (123456, "1,23,456"), (123456789, "12,34,56,789")],
)
def test_indian_grouping_is_lakh_and_crore(whole: int, grouped: str) -> None:
    assert group_indian(whole) == grouped
