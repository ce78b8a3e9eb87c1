"""Random strategy documents for research runs: a trigger, filters and exits drawn from a seed.

A drawn strategy reads the way a trader writes one: a *trigger* (an event on the signal bar: an
oscillator leaving its extreme zone, a moving-average or MACD cross, a Supertrend flip, a
breakout) and zero to two *filters* (states that must hold: trend, momentum, ADX strength,
price against VWAP), all pointing the same way as the direction. Some draws enter on either of
two triggers, or put the filters in an ``any`` group. Exits mix percent, ATR and swing stops,
R-multiple and percent targets, trailing stops, break-even and time limits.

Everything comes from one `random.Random`, so a seed gives the same documents everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from tradeloop.domain.strategy.documents import Document, condition, indicator, intraday, price

Draw = Callable[[random.Random, int], Document]
"""A condition drawn for a direction (+1 long, -1 short)."""

_LEVELS: dict[str, tuple[float, float, float]] = {
    # indicator: (lowest oversold level, highest oversold level, midpoint of its range)
    "rsi": (20, 40, 50),
    "stoch": (10, 30, 50),
    "mfi": (15, 35, 50),
    "willr": (-90, -70, -50),
}
_PERIODS: dict[str, dict[str, list[int]]] = {
    "rsi": {"period": [7, 9, 14, 21]},
    "stoch": {"k_period": [5, 9, 14]},
    "mfi": {"period": [10, 14]},
    "willr": {"period": [10, 14]},
}


def _mirror(name: str, level: float, sign: int) -> float:
    """An oversold level for longs; the matching overbought level for shorts."""
    midpoint = _LEVELS[name][2]
    return round(level if sign > 0 else 2 * midpoint - level, 1)


def _crosses(sign: int) -> str:
    return "crosses_above" if sign > 0 else "crosses_below"


def _oscillator_trigger(rng: random.Random, sign: int) -> Document:
    name = rng.choice(sorted(_LEVELS))
    params = {key: rng.choice(values) for key, values in _PERIODS[name].items()}
    low, high, _ = _LEVELS[name]
    operand = {**indicator(name), **params}
    return condition(operand, _crosses(sign), _mirror(name, rng.uniform(low, high), sign))


def _average_cross(rng: random.Random, sign: int) -> Document:
    kind = rng.choice(["ema", "sma", "wma"])
    fast = rng.choice([5, 8, 9, 10, 12, 20])
    slow = fast * rng.choice([2, 3, 4])
    return condition(indicator(kind, period=fast), _crosses(sign), indicator(kind, period=slow))


def _macd_params(rng: random.Random) -> dict[str, Any]:
    return rng.choice([{}, {"fast_period": 8, "slow_period": 21, "signal_period": 5}])


def _macd_cross(rng: random.Random, sign: int) -> Document:
    params = _macd_params(rng)
    line, signal = indicator("macd", **params), indicator("macd", "signal", **params)
    return condition(line, _crosses(sign), signal)


def _supertrend_flip(rng: random.Random, sign: int) -> Document:
    operand = indicator(
        "supertrend", "direction", period=rng.choice([7, 10, 14]), multiplier=rng.choice([2, 3])
    )
    return condition(operand, _crosses(sign), 0)


def _breakout(rng: random.Random, sign: int) -> Document:
    choice = rng.random()
    if choice < 0.4:
        minutes = rng.choice([15, 30])
        level = indicator("opening_range", "high" if sign > 0 else "low", minutes=minutes)
    elif choice < 0.8:
        period = rng.choice([20, 50])
        level = indicator("bbands", "upper" if sign > 0 else "lower", period=period)
    else:
        level = indicator("vwap")
    return condition(price("close"), _crosses(sign), level)


def _trend_filter(rng: random.Random, sign: int) -> Document:
    average = rng.choice(
        [
            indicator("ema", period=rng.choice([20, 50, 100, 200])),
            indicator("sma", period=rng.choice([20, 50, 100])),
            indicator("vwap"),
        ]
    )
    return condition(price("close"), ">" if sign > 0 else "<", average)


def _momentum_filter(rng: random.Random, sign: int) -> Document:
    if rng.random() < 0.5:
        period = rng.choice([9, 14])
        return condition(indicator("rsi", period=period), ">" if sign > 0 else "<", 50)
    params = _macd_params(rng)
    return condition(indicator("macd", "histogram", **params), ">" if sign > 0 else "<", 0)


def _strength_filter(rng: random.Random, sign: int) -> Document:
    del sign  # ADX measures trend strength in either direction
    return condition(indicator("adx", period=14), ">", rng.choice([15, 20, 25]))


def _supertrend_filter(rng: random.Random, sign: int) -> Document:
    operand = indicator("supertrend", "direction", period=10, multiplier=3)
    return condition(operand, ">" if sign > 0 else "<", 0)


TRIGGERS: tuple[Draw, ...] = (
    _oscillator_trigger,
    _average_cross,
    _macd_cross,
    _supertrend_flip,
    _breakout,
)
FILTERS: tuple[Draw, ...] = (
    _trend_filter,
    _momentum_filter,
    _strength_filter,
    _supertrend_filter,
)


def random_document(rng: random.Random, symbol: str, timeframe: str, name: str) -> Document:
    """One random strategy document (it may still fail validation: the caller redraws)."""
    sign = rng.choice([1, -1])
    trigger = rng.choice(TRIGGERS)(rng, sign)
    filters = [draw(rng, sign) for draw in rng.sample(FILTERS, k=rng.choice([0, 1, 1, 2]))]
    shape = rng.random()
    if shape < 0.2:
        second = rng.choice(TRIGGERS)(rng, sign)
        entry: Document = {"any": [trigger, second]}
        regime = filters
    elif shape < 0.35 and len(filters) == 2:
        entry = {"all": [trigger, {"any": filters}]}
        regime = []
    else:
        entry = {"all": [trigger, *filters]}
        regime = []
    window_filters, square_off = intraday(
        timeframe,
        rng.choice(["09:20", "09:30", "09:45", "10:00"]),
        rng.choice(["13:00", "14:00", "14:30", "15:00"]),
    )
    if rng.random() < 0.3:
        window_filters = {}
    if regime:
        window_filters["regime"] = regime
    return {
        "name": name,
        "symbol": symbol,
        "timeframe": timeframe,
        "direction": "long" if sign > 0 else "short",
        "instrument": _instrument(rng, sign, symbol),
        "entry": entry,
        "exit": {**_exit_rules(rng, sign), "square_off": square_off},
        "filters": window_filters,
    }


def _instrument(rng: random.Random, sign: int, symbol: str) -> Document:
    choice = rng.random()
    if choice < 0.7:
        return {"kind": "index"}
    if choice < 0.85:
        return {"kind": "future"}
    strike = rng.choice(
        [
            {"rule": "atm", "offset_steps": rng.choice([0, 0, 1, -1])},
            {"rule": "delta", "delta": 0.4},
        ]
    )
    return {
        "kind": "option",
        "option_type": "CE" if sign > 0 else "PE",
        "strike": strike,
        "expiry": _expiry(rng.choice(["current_weekly", "next_weekly"]), symbol),
    }


def _expiry(drawn: str, symbol: str) -> str:
    """BANKNIFTY has had no weekly options since 2024-11-14 (the expiry rule table): its
    option specs trade the monthly, drawn the same way so the other draws do not move."""
    return "monthly" if symbol.upper() == "BANKNIFTY" else drawn


def _exit_rules(rng: random.Random, sign: int) -> Document:
    stop = rng.choice(
        [
            {"kind": "percent", "percent": rng.choice([0.2, 0.3, 0.5, 0.8, 1.0])},
            {"kind": "atr", "multiple": rng.choice([1, 1.5, 2, 3]), "period": rng.choice([10, 14])},
            {"kind": "swing_low" if sign > 0 else "swing_high", "strength": rng.choice([2, 3, 5])},
        ]
    )
    rules: Document = {"stop_loss": stop}
    target_r = rng.choice([None, 1.0, 1.5, 2.0, 3.0])
    if target_r is not None:
        rules["take_profit"] = {"kind": "r_multiple", "r": target_r}
    elif rng.random() < 0.5:
        rules["take_profit"] = {"kind": "percent", "percent": rng.choice([0.3, 0.5, 1.0])}
    if rng.random() < 0.3:
        rules["trailing_stop"] = rng.choice(
            [{"kind": "atr", "multiple": 2.5, "period": 14}, {"kind": "percent", "percent": 0.5}]
        )
    if rng.random() < 0.3 and (target_r is None or target_r > 1):
        rules["break_even_after_r"] = 1
    if rng.random() < 0.3:
        rules["max_bars_held"] = rng.choice([10, 20, 50])
    return rules
