"""Strike selection by rule: ATM, steps out of the money, nearest delta, nearest premium, and
the contract chosen at an entry bar."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

import numpy as np
import pytest

from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.instruments import INDICES
from tradeloop.domain.options.expiries import Expiry, ExpiryCalendar, ExpiryRule
from tradeloop.domain.options.expiries import bundled_expiry_rules as rules
from tradeloop.domain.options.selection import (
    OptionType,
    StrikeRule,
    atm_strike,
    choose_at_entry,
    strike_ladder,
    strike_nearest_delta,
    strike_nearest_premium,
    strike_steps_out_of_the_money,
)
from tradeloop.errors import NotFoundError

NIFTY_STEP = INDICES["NIFTY"].strike_step
BANKNIFTY_STEP = INDICES["BANKNIFTY"].strike_step
EXPIRIES = ExpiryCalendar(rules(), NSECalendar.default())


def test_atm_is_the_nearest_strike_on_the_index_step() -> None:
    assert atm_strike(24_012.0, NIFTY_STEP) == 24_000.0
    assert atm_strike(24_026.0, NIFTY_STEP) == 24_050.0
    assert atm_strike(51_249.9, BANKNIFTY_STEP) == 51_200.0
    assert atm_strike(51_250.1, BANKNIFTY_STEP) == 51_300.0


def test_atm_tie_halfway_between_strikes_goes_to_the_lower_strike() -> None:
    assert atm_strike(24_025.0, NIFTY_STEP) == 24_000.0
    assert atm_strike(51_250.0, BANKNIFTY_STEP) == 51_200.0


def test_atm_refuses_a_step_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="strike step 0"):
        atm_strike(24_000.0, 0.0)


def test_steps_out_of_the_money_go_up_for_a_call_and_down_for_a_put() -> None:
    spot = 24_012.0  # ATM 24,000
    assert strike_steps_out_of_the_money(spot, NIFTY_STEP, OptionType.CALL, 2) == 24_100.0
    assert strike_steps_out_of_the_money(spot, NIFTY_STEP, OptionType.PUT, 2) == 23_900.0
    assert strike_steps_out_of_the_money(spot, NIFTY_STEP, OptionType.CALL, -1) == 23_950.0
    assert strike_steps_out_of_the_money(spot, NIFTY_STEP, OptionType.PUT, -1) == 24_050.0
    assert strike_steps_out_of_the_money(spot, NIFTY_STEP, OptionType.PUT, 0) == 24_000.0


def test_ladder_is_atm_and_n_steps_each_side() -> None:
    ladder = strike_ladder(24_012.0, NIFTY_STEP, 2)
    assert ladder.tolist() == [23_900.0, 23_950.0, 24_000.0, 24_050.0, 24_100.0]


def _toy_call_delta(spot: float) -> Callable[[float], float]:
    """A smooth call delta falling with the strike: 0.5 at spot (not a pricing model)."""
    return lambda strike: 1.0 / (1.0 + math.exp((strike - spot) / 150.0))


def test_nearest_delta_from_a_callable_picks_the_out_of_the_money_call() -> None:
    strikes = strike_ladder(24_000.0, NIFTY_STEP, 10)
    chosen = strike_nearest_delta(strikes, _toy_call_delta(24_000.0), 0.30)
    # delta(24,100) = 0.339, delta(24,150) = 0.269: 0.269 is nearer 0.30.
    assert chosen == 24_150.0


def test_nearest_delta_compares_absolute_deltas_for_a_put() -> None:
    strikes = [23_800.0, 23_850.0, 23_900.0, 23_950.0, 24_000.0]
    put_deltas = [-0.18, -0.24, -0.31, -0.40, -0.50]
    assert strike_nearest_delta(strikes, put_deltas, -0.30) == 23_900.0
    assert strike_nearest_delta(strikes, put_deltas, 0.30) == 23_900.0


def test_nearest_delta_tie_goes_to_the_lower_strike() -> None:
    strikes = [24_000.0, 24_050.0, 24_100.0]
    assert strike_nearest_delta(strikes, [0.50, 0.25, 0.75], 0.50) == 24_000.0
    assert strike_nearest_delta(strikes, [0.75, 0.50, 0.25], 0.375) == 24_050.0
    assert strike_nearest_delta(strikes, [0.25, 0.50, 0.25], 0.25) == 24_000.0


def test_nearest_premium_from_arrays_skips_strikes_without_a_price() -> None:
    strikes = np.array([24_000.0, 24_050.0, 24_100.0, 24_150.0])
    premiums = np.array([120.0, 90.0, np.nan, 40.0])
    assert strike_nearest_premium(strikes, premiums, 60.0) == 24_150.0  # |40-60| < |90-60|
    assert strike_nearest_premium(strikes, premiums, 100.0) == 24_050.0


def test_nearest_premium_tie_goes_to_the_lower_strike() -> None:
    assert strike_nearest_premium([24_000.0, 24_050.0], [100.0, 60.0], 80.0) == 24_000.0


def test_nearest_premium_with_no_prices_is_refused() -> None:
    with pytest.raises(NotFoundError, match="no strike has a premium"):
        strike_nearest_premium([24_000.0, 24_050.0], [np.nan, np.nan], 80.0)


def test_values_must_match_the_strikes_one_for_one() -> None:
    with pytest.raises(ValueError, match="give one per strike"):
        strike_nearest_premium([24_000.0, 24_050.0], [100.0], 80.0)


def test_choose_at_entry_reads_the_entry_bar_day_and_spot() -> None:
    spots = [23_990.0, 24_031.0, 24_400.0]
    bar_days = [date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)]
    choice = choose_at_entry(
        "nifty",
        OptionType.CALL,
        spots,
        bar_days,
        1,
        strike_rule=StrikeRule(steps_out_of_the_money=1),
        expiry_rule=ExpiryRule.CURRENT_WEEKLY,
        expiries=EXPIRIES,
        strike_step=NIFTY_STEP,
    )
    assert choice.symbol == "NIFTY"
    assert choice.expiry == Expiry(date(2026, 3, 10), "weekly")  # expiry day: today
    assert choice.strike == 24_100.0  # ATM 24,050 + one step out of the money for a CE


def test_choose_at_entry_with_a_target_delta_uses_the_callers_model() -> None:
    def delta_of(strike: float, spot: float, day: date) -> float:
        return -_toy_call_delta(spot)(2 * spot - strike)  # a mirrored put delta

    choice = choose_at_entry(
        "NIFTY",
        OptionType.PUT,
        [24_000.0],
        [date(2026, 3, 9)],
        0,
        strike_rule=StrikeRule(target_delta=0.30, value_of=delta_of),
        expiry_rule=ExpiryRule.MONTHLY,
        expiries=EXPIRIES,
        strike_step=NIFTY_STEP,
    )
    assert choice.strike == 23_850.0  # the mirror of the call's 24,150
    assert choice.expiry == Expiry(date(2026, 3, 30), "monthly")


def test_a_target_without_a_model_is_refused() -> None:
    with pytest.raises(ValueError, match="needs value_of"):
        StrikeRule(target_premium=50.0)


def test_a_strike_rule_with_two_ways_to_pick_is_refused() -> None:
    with pytest.raises(ValueError, match="give only one"):
        StrikeRule(target_delta=0.3, target_premium=50.0, value_of=lambda k, s, d: 0.0)
    with pytest.raises(ValueError, match="give only one"):
        StrikeRule(steps_out_of_the_money=2, target_delta=0.3, value_of=lambda k, s, d: 0.0)
