"""What each indicator output can be: its range (rsi is 0..100) and its unit (price, percent).

The validator uses them to refuse conditions that can never hold (``rsi > 100``) and
comparisons of unlike things (``close > rsi``). Ranges come from this table, then from the
output's unit as the indicator registry declares it; anything else is unbounded.
"""

from __future__ import annotations

import math
from typing import Final

from tradeloop.domain.indicators.registry import get_indicator
from tradeloop.domain.strategy.conditions import IndicatorOperand, PriceOperand

Operand = float | IndicatorOperand | PriceOperand
Bounds = tuple[float, float]
INF: Final = math.inf

# Outputs with a bounded range, by (indicator, output); units fill in the rest.
OUTPUT_BOUNDS: Final[dict[tuple[str, str], Bounds]] = {
    ("rsi", "rsi"): (0.0, 100.0),
    ("stoch", "k"): (0.0, 100.0),
    ("stoch", "d"): (0.0, 100.0),
    ("mfi", "mfi"): (0.0, 100.0),
    ("willr", "willr"): (-100.0, 0.0),
    ("adx", "adx"): (0.0, 100.0),
    ("plus_di", "plus_di"): (0.0, 100.0),
    ("minus_di", "minus_di"): (0.0, 100.0),
    ("aroon", "up"): (0.0, 100.0),
    ("aroon", "down"): (0.0, 100.0),
    ("atr", "atr"): (0.0, INF),
    ("natr", "natr"): (0.0, INF),
    ("stddev", "stddev"): (0.0, INF),
    ("roc", "roc"): (-100.0, INF),
}
_UNIT_BOUNDS: Final[dict[str, Bounds]] = {
    "price": (0.0, INF),
    "direction": (-1.0, 1.0),
    "flag": (0.0, 1.0),
}


def output_bounds(operand: Operand) -> Bounds:
    """The values `operand` can take; (-inf, inf) when nothing is known."""
    if isinstance(operand, PriceOperand):
        return (0.0, INF)
    if isinstance(operand, IndicatorOperand):
        output = operand.output_name
        if (operand.indicator, output) in OUTPUT_BOUNDS:
            return OUTPUT_BOUNDS[(operand.indicator, output)]
        definition = get_indicator(operand.indicator)
        if definition.units:
            return _UNIT_BOUNDS.get(definition.unit(output), (-INF, INF))
        return (-INF, INF)
    return (float(operand), float(operand))


def operand_unit(operand: Operand) -> str | None:
    """What `operand` measures (price, points, percent, ...); None for a constant or unknown."""
    if isinstance(operand, PriceOperand):
        return "volume" if operand.price == "volume" else "price"
    if isinstance(operand, IndicatorOperand):
        definition = get_indicator(operand.indicator)
        return definition.unit(operand.output_name) if definition.units else None
    return None


def format_bounds(bounds: Bounds) -> str:
    low, high = bounds
    low_text = "-inf" if low == -INF else _number(low)
    high_text = "inf" if high == INF else _number(high)
    return f"[{low_text}, {high_text}]"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
