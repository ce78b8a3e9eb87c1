"""Rupee amounts as a trader reads them: ₹ and Indian digit grouping (lakh, crore).

One formatter for every table, message and report: ₹12,34,567.89, -₹1,250.00, ₹12,34,568.
"""

from __future__ import annotations

import math


def rupees(value: float, *, paise: bool = True) -> str:
    """`value` in rupees with Indian grouping: ₹12,34,567.89 (₹12,34,568 without paise).

    Negative amounts carry a leading minus (-₹1,250.00); NaN and infinities are shown as they
    are, so a broken number is never disguised as a plausible one.
    """
    if not math.isfinite(value):
        return f"₹{value}"
    # Format first, then group: the decimal rounding of `format` is the one people check by hand.
    whole, _, fraction = f"{abs(value):.{2 if paise else 0}f}".partition(".")
    sign = "-" if value < 0 and (int(whole) or int(fraction or 0)) else ""  # never "-₹0.00"
    text = f"{sign}₹{group_indian(int(whole))}"
    return f"{text}.{fraction}" if fraction else text


def group_indian(whole: int) -> str:
    """A non-negative integer with Indian digit grouping: 1234567 → '12,34,567'."""
    digits = str(whole)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    if head:
        pairs.insert(0, head)
    return ",".join([*pairs, tail])
