"""Model chains: every row is a consistent Black-Scholes price on the smile, CE and PE alike."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from tradeloop.domain.options.chain import Smile, synthetic_chain
from tradeloop.domain.options.implied_vol import black_scholes_implied_vol

AS_OF = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 10:30 IST
RATE = 0.065


def chain(**overrides: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "symbol": "NIFTY",
        "spot": 24_013.5,
        "as_of": AS_OF,
        "expiry": date(2026, 3, 10),
        "atm_vol": 0.14,
        "strike_step": 50.0,
        "strikes_each_side": 10,
        "rate": RATE,
        "dividend_yield": 0.0,
        "smile": Smile(),
    }
    values.update(overrides)
    return synthetic_chain(**values)  # type: ignore[arg-type]


def test_strikes_sit_on_the_step_around_the_money_with_a_ce_and_a_pe_each() -> None:
    found = chain()
    strikes = found.rows.get_column("strike").unique().sort().to_list()
    assert strikes == [24_000.0 + 50.0 * n for n in range(-10, 11)]
    assert found.rows.group_by("strike").len().get_column("len").to_list() == [2] * 21
    assert found.rows.get_column("oi").null_count() == found.rows.height  # a model has no OI


def test_put_call_parity_holds_on_every_strike() -> None:
    found = chain()
    discount = math.exp(-RATE * found.time)
    calls = found.rows.filter(pl.col("option_type") == "CE").sort("strike")
    puts = found.rows.filter(pl.col("option_type") == "PE").sort("strike")
    strikes = calls.get_column("strike").to_numpy()
    gap = calls.get_column("price").to_numpy() - puts.get_column("price").to_numpy()
    assert np.allclose(gap, discount * (found.forward - strikes), atol=1e-9, rtol=0)


def test_each_price_gives_back_its_volatility() -> None:
    found = chain()
    rows = found.rows
    solved = black_scholes_implied_vol(
        rows.get_column("price").to_numpy(),
        found.spot,
        rows.get_column("strike").to_numpy(),
        found.time,
        RATE,
        0.0,
        (rows.get_column("option_type") == "CE").to_numpy(),
    )
    assert np.allclose(solved.vol, rows.get_column("iv").to_numpy(), atol=1e-8, rtol=0)


def test_the_smile_puts_the_downside_above_the_upside() -> None:
    found = chain()
    iv = dict(zip(found.rows["strike"].to_list(), found.rows["iv"].to_list(), strict=False))
    atm = 24_000.0
    assert iv[atm - 500] > iv[atm] and iv[atm - 500] > iv[atm + 500]
    flat = chain(smile=Smile(skew=0.0, curvature=0.0))
    assert set(flat.rows.get_column("iv").to_list()) == {0.14}


def test_around_keeps_the_nearest_strikes_to_the_spot() -> None:
    kept = chain().around(2).get_column("strike").unique().sort().to_list()
    assert kept == [23_900.0, 23_950.0, 24_000.0, 24_050.0, 24_100.0]


@pytest.mark.parametrize(
    "overrides",
    [{"spot": 0.0}, {"atm_vol": -0.1}, {"strike_step": 0.0}, {"strikes_each_side": -1}],
)
def test_impossible_inputs_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="a chain needs"):
        chain(**overrides)


def test_a_frowning_smile_is_refused() -> None:
    with pytest.raises(ValueError, match="curvature"):
        Smile(curvature=-0.1)
