"""Choosing an option strike (and expiry) by rule: pure and deterministic.

Conventions, the same in every function here:

* **Strikes** lie on the index's strike step (`INDICES[symbol].strike_step` or the instrument
  master's, passed in as `strike_step`): 50 for NIFTY, 100 for BANKNIFTY.
* **ATM** is the strike nearest to spot.
* **Steps out of the money** (`steps_out_of_the_money=n`): n > 0 moves away from spot on the
  side where the option is out of the money: *higher* strikes for a call (CE), *lower* for a put
  (PE); n < 0 moves in the money; 0 is ATM.
* **Target delta** compares absolute deltas (a put's delta is negative: 0.30 and -0.30 pick the
  same put); **target premium** compares premiums in rupees. Strikes whose value is NaN (no
  quote, no price) are skipped.
* **Ties** (two strikes equally near spot, the target delta or the target premium) go to the
  **lower strike**, always.

`choose_at_entry` reads the spot and the day of the entry bar only, never a later bar: the
choice from a series cut at the entry bar equals the choice from the whole series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import numpy as np

from tradeloop.domain.options.expiries import Expiry, ExpiryCalendar, ExpiryRule
from tradeloop.errors import NotFoundError

StrikeValues = Sequence[float] | np.ndarray | Callable[[float], float]


class OptionType(StrEnum):
    CALL = "CE"
    PUT = "PE"


def atm_strike(spot: float, strike_step: float) -> float:
    """The strike nearest to `spot` on `strike_step`; exactly halfway goes to the lower one."""
    _check_step(strike_step)
    return math.ceil(spot / strike_step - 0.5) * strike_step


def strike_steps_out_of_the_money(
    spot: float, strike_step: float, option_type: OptionType, steps_out_of_the_money: int
) -> float:
    """ATM moved `steps_out_of_the_money` steps out of the money: up for a CE, down for a PE
    (a negative count moves in the money)."""
    direction = 1 if OptionType(option_type) is OptionType.CALL else -1
    return atm_strike(spot, strike_step) + direction * steps_out_of_the_money * strike_step


def strike_ladder(spot: float, strike_step: float, steps_each_side: int) -> np.ndarray:
    """ATM and `steps_each_side` strikes below and above it, ascending."""
    atm = atm_strike(spot, strike_step)
    offsets = np.arange(-steps_each_side, steps_each_side + 1, dtype=np.float64)
    ladder: np.ndarray = atm + offsets * strike_step
    return ladder


def strike_nearest_delta(
    strikes: Sequence[float] | np.ndarray, deltas: StrikeValues, target_delta: float
) -> float:
    """The strike whose absolute delta is nearest to `abs(target_delta)`. `deltas` holds one
    delta per strike, or is a `delta(strike)` callable (e.g. from the pricing module)."""
    values = np.abs(_values(strikes, deltas))
    return _nearest(strikes, values, abs(target_delta), "delta")


def strike_nearest_premium(
    strikes: Sequence[float] | np.ndarray, premiums: StrikeValues, target_premium: float
) -> float:
    """The strike whose premium is nearest to `target_premium`. `premiums` holds one premium
    per strike, or is a `premium(strike)` callable."""
    return _nearest(strikes, _values(strikes, premiums), target_premium, "premium")


# -- a strike rule and the choice at an entry bar ------------------------------------------------


@dataclass(frozen=True, slots=True)
class StrikeRule:
    """How to pick a strike: `steps_out_of_the_money` from ATM (0 = ATM), or, when given, the
    strike nearest `target_delta` / `target_premium` among ATM ± `ladder_steps` strikes, valued
    by `value_of(strike, spot, day)` (the caller's delta or premium model)."""

    steps_out_of_the_money: int = 0
    target_delta: float | None = None
    target_premium: float | None = None
    value_of: Callable[[float, float, date], float] | None = None
    ladder_steps: int = 20

    def __post_init__(self) -> None:
        targets = (self.target_delta is not None) + (self.target_premium is not None)
        if targets > 1 or (targets and self.steps_out_of_the_money):
            raise ValueError(
                "a strike rule uses one of steps_out_of_the_money, target_delta and "
                "target_premium: give only one"
            )
        if targets and self.value_of is None:
            raise ValueError("a target delta or premium needs value_of(strike, spot, day)")

    def strike(self, spot: float, day: date, strike_step: float, option_type: OptionType) -> float:
        if self.target_delta is None and self.target_premium is None:
            return strike_steps_out_of_the_money(
                spot, strike_step, option_type, self.steps_out_of_the_money
            )
        value_of = self.value_of
        assert value_of is not None  # checked when the rule was made
        ladder = strike_ladder(spot, strike_step, self.ladder_steps)
        values = [value_of(float(strike), spot, day) for strike in ladder]
        if self.target_delta is not None:
            return strike_nearest_delta(ladder, values, self.target_delta)
        assert self.target_premium is not None
        return strike_nearest_premium(ladder, values, self.target_premium)


@dataclass(frozen=True, slots=True)
class ContractChoice:
    symbol: str
    option_type: OptionType
    expiry: Expiry
    strike: float


def choose_at_entry(
    symbol: str,
    option_type: OptionType,
    spots: Sequence[float] | np.ndarray,
    days: Sequence[date],
    entry_index: int,
    *,
    strike_rule: StrikeRule,
    expiry_rule: ExpiryRule,
    expiries: ExpiryCalendar,
    strike_step: float,
    min_days_left: int = 0,
) -> ContractChoice:
    """The contract to enter at bar `entry_index` of a spot series (`days[i]` is bar i's IST
    trading day): the expiry by `expiry_rule` on the entry day, the strike by `strike_rule` on
    the entry bar's spot. Nothing after `entry_index` is read."""
    if not 0 <= entry_index < min(len(spots), len(days)):
        raise IndexError(f"entry bar {entry_index} is outside the series of {len(spots)} bars")
    spot = float(spots[entry_index])
    day = days[entry_index]
    expiry = expiries.expiry_for(symbol, day, expiry_rule, min_days_left=min_days_left)
    strike = strike_rule.strike(spot, day, strike_step, option_type)
    return ContractChoice(symbol.strip().upper(), OptionType(option_type), expiry, strike)


# -- helpers ------------------------------------------------------------------------------------


def _check_step(strike_step: float) -> None:
    if not strike_step > 0:
        raise ValueError(f"strike step {strike_step} must be above 0")


def _values(strikes: Sequence[float] | np.ndarray, values: StrikeValues) -> np.ndarray:
    if callable(values):
        return np.array([values(float(strike)) for strike in strikes], dtype=np.float64)
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (len(strikes),):
        raise ValueError(f"{len(strikes)} strikes but {array.shape} values: give one per strike")
    return array


def _nearest(
    strikes: Sequence[float] | np.ndarray, values: np.ndarray, target: float, what: str
) -> float:
    """The strike whose value is nearest `target`; a tie goes to the lower strike."""
    candidates = [
        (abs(float(value) - target), float(strike))
        for strike, value in zip(strikes, values, strict=True)
        if not math.isnan(value)
    ]
    if not candidates:
        raise NotFoundError(
            f"no strike has a {what} to compare with {target}: every one of the "
            f"{len(values)} strikes is NaN or the list is empty; check the chain's quotes"
        )
    return min(candidates)[1]
