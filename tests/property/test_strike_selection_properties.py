"""No look-ahead in contract selection (DESIGN invariant 4): the strike and expiry chosen at
entry bar t from a spot series cut at t equal those chosen from the whole series, whatever
comes after t, for every strike and expiry rule; and the chosen strike is always on the step."""

from __future__ import annotations

import math
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.instruments import INDICES
from tradeloop.domain.options.expiries import ExpiryCalendar, ExpiryRule, bundled_expiry_rules
from tradeloop.domain.options.selection import (
    ContractChoice,
    OptionType,
    StrikeRule,
    choose_at_entry,
)
from tradeloop.errors import NotFoundError

CALENDAR = NSECalendar.default()
EXPIRIES = ExpiryCalendar(bundled_expiry_rules(), CALENDAR)
# Entry days whose next monthly expiry the holiday table still covers.
TRADING_DAYS = CALENDAR.trading_days(date(2024, 1, 1), date(2026, 11, 30))
BARS_PER_DAY = 3


def toy_delta(strike: float, spot: float, day: date) -> float:
    """A call delta falling with the strike, faster as the month ends (not a pricing model)."""
    width = 60.0 + 4.0 * (31 - day.day)
    return 1.0 / (1.0 + math.exp((strike - spot) / width))


def toy_premium(strike: float, spot: float, day: date) -> float:
    return max(spot - strike, 0.0) + 200.0 * toy_delta(strike, spot, day)


STRIKE_RULES = st.one_of(
    st.integers(-5, 5).map(lambda n: StrikeRule(steps_out_of_the_money=n)),
    st.floats(0.05, 0.95).map(lambda d: StrikeRule(target_delta=d, value_of=toy_delta)),
    st.floats(5.0, 400.0).map(lambda p: StrikeRule(target_premium=p, value_of=toy_premium)),
)


@st.composite
def spot_series(draw: st.DrawFn) -> tuple[str, list[float], list[date]]:
    symbol = draw(st.sampled_from(sorted(INDICES)))
    first = draw(st.integers(0, len(TRADING_DAYS) - 10))
    sessions = draw(st.integers(1, 8))
    days = [d for d in TRADING_DAYS[first : first + sessions] for _ in range(BARS_PER_DAY)]
    level = INDICES[symbol].typical_level
    moves = draw(st.lists(st.floats(-0.01, 0.01), min_size=len(days) - 1, max_size=len(days) - 1))
    spots = [level]
    for move in moves:
        spots.append(spots[-1] * (1.0 + move))
    return symbol, spots, days


def outcome(
    symbol: str,
    option_type: OptionType,
    spots: list[float],
    days: list[date],
    entry: int,
    strike_rule: StrikeRule,
    expiry_rule: ExpiryRule,
    min_days_left: int,
) -> ContractChoice | str:
    try:
        return choose_at_entry(
            symbol,
            option_type,
            spots,
            days,
            entry,
            strike_rule=strike_rule,
            expiry_rule=expiry_rule,
            expiries=EXPIRIES,
            strike_step=INDICES[symbol].strike_step,
            min_days_left=min_days_left,
        )
    except NotFoundError as exc:  # e.g. a weekly rule on BANKNIFTY after 2024-11-13
        return str(exc)


@settings(max_examples=150, deadline=None)
@given(
    series=spot_series(),
    entry_fraction=st.floats(0.0, 1.0),
    option_type=st.sampled_from(list(OptionType)),
    strike_rule=STRIKE_RULES,
    expiry_rule=st.sampled_from(list(ExpiryRule)),
    min_days_left=st.integers(0, 20),
)
def test_the_choice_never_depends_on_bars_after_the_entry_bar(
    series: tuple[str, list[float], list[date]],
    entry_fraction: float,
    option_type: OptionType,
    strike_rule: StrikeRule,
    expiry_rule: ExpiryRule,
    min_days_left: int,
) -> None:
    symbol, spots, days = series
    entry = min(int(entry_fraction * len(spots)), len(spots) - 1)
    args = (option_type, strike_rule, expiry_rule, min_days_left)
    whole = outcome(symbol, args[0], spots, days, entry, *args[1:])
    cut = outcome(symbol, args[0], spots[: entry + 1], days[: entry + 1], entry, *args[1:])
    assert whole == cut
    if isinstance(whole, ContractChoice):
        step = INDICES[symbol].strike_step
        assert whole.strike % step == 0
        assert whole.expiry.day >= days[entry]
