"""Option chains: one type for a model chain (synthetic) and Dhan's (`adapters.dhan.option_chain`).

A chain is one expiry of one index: per strike a CE row and a PE row with the price, the implied
volatility it was priced at (or solved from), and the Black-Scholes Greeks on the spot
(`pricing.black_scholes_greeks`: delta in the spot, theta per calendar day, vega per vol point).

`synthetic_chain` prices every strike on a grid around the spot from the at-the-money implied
volatility and a `Smile`. Its prices are a model's, not the market's: no bid-ask, no open
interest (the column is null), and the smile is a parametric shape, not a fit.

The smile, in standardised moneyness `m = ln(K/F) / (σ_atm·√T)` (how many "standard deviations"
the strike is from the forward)::

    σ(K) = σ_atm · (1 + skew·m + curvature·m²),  clipped to [floor, cap·σ_atm]

With the defaults (skew −0.08, curvature 0.03) a put two standard deviations out of the money
is priced at 1.28 σ_atm and a call two out at 0.96 σ_atm: the downside skew of index options.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import polars as pl

from tradeloop.domain.options.expiries import time_to_expiry
from tradeloop.domain.options.pricing import black_scholes_greeks, forward_price

MIN_TIME = 1.0 / (365.0 * 24.0 * 60.0)
"""One minute in years: the smile's moneyness is not defined at zero time."""

CHAIN_SCHEMA: dict[str, pl.DataType] = {
    "strike": pl.Float64(),
    "option_type": pl.String(),
    "price": pl.Float64(),
    "iv": pl.Float64(),
    "delta": pl.Float64(),
    "gamma": pl.Float64(),
    "theta": pl.Float64(),
    "vega": pl.Float64(),
    "oi": pl.Int64(),
}


@dataclass(frozen=True)
class Smile:
    """Implied volatility across strikes around the at-the-money level (module docstring)."""

    skew: float = -0.08
    curvature: float = 0.03
    floor: float = 0.03
    cap: float = 3.0

    def __post_init__(self) -> None:
        if self.curvature < 0:
            raise ValueError(
                f"smile curvature {self.curvature} must be >= 0 (a smile, not a frown)"
            )
        if not 0 < self.floor < 1 or self.cap <= 1:
            raise ValueError(f"smile floor {self.floor} must be in (0, 1) and cap {self.cap} > 1")

    def vol(
        self,
        atm_vol: float | np.ndarray,
        forward: float | np.ndarray,
        strikes: float | np.ndarray,
        time: float | np.ndarray,
    ) -> np.ndarray:
        """σ(K) (decimals per year); the inputs broadcast together (numpy rules): the strikes
        of one chain, or one strike along a path of forwards and times."""
        atm = np.asarray(atm_vol, dtype=np.float64)
        spread = atm * np.sqrt(np.maximum(time, MIN_TIME))
        moneyness = np.log(np.asarray(strikes, dtype=np.float64) / forward) / spread
        vols = atm * (1.0 + self.skew * moneyness + self.curvature * moneyness**2)
        return np.clip(vols, self.floor, self.cap * atm)


@dataclass(frozen=True)
class OptionChain:
    """One expiry of one index's options, priced as of a moment."""

    symbol: str
    expiry: date
    as_of: datetime
    spot: float
    forward: float
    time: float
    """Years to the expiry's 15:30 IST close."""
    source: str
    """"synthetic" for `synthetic_chain`, "dhan" for Dhan's option chain API."""
    rows: pl.DataFrame
    """`CHAIN_SCHEMA` rows, by strike, CE before PE."""

    def around(self, strikes_each_side: int) -> pl.DataFrame:
        """The rows of the strikes nearest the spot: the at-the-money strike and `n` each side."""
        strikes = self.rows.get_column("strike").unique().sort()
        if strikes.is_empty():
            return self.rows
        atm = int(np.argmin(np.abs(strikes.to_numpy() - self.spot)))
        low = max(atm - strikes_each_side, 0)
        kept = strikes.slice(low, atm - low + strikes_each_side + 1)
        return self.rows.filter(pl.col("strike").is_in(kept.implode()))


def synthetic_chain(
    *,
    symbol: str,
    spot: float,
    as_of: datetime,
    expiry: date,
    atm_vol: float,
    strike_step: float,
    strikes_each_side: int,
    rate: float,
    dividend_yield: float,
    smile: Smile,
) -> OptionChain:
    """Model prices of the strikes on `strike_step` within `strikes_each_side` of the ATM one."""
    if not (spot > 0 and atm_vol > 0 and strike_step > 0 and strikes_each_side >= 0):
        raise ValueError(
            f"a chain needs spot > 0, atm_vol > 0, strike_step > 0 and strikes_each_side >= 0 "
            f"(got {spot}, {atm_vol}, {strike_step}, {strikes_each_side})"
        )
    time = time_to_expiry(as_of, expiry)
    forward = float(forward_price(spot, time, rate, dividend_yield))
    atm = round(spot / strike_step) * strike_step
    offsets = np.arange(-strikes_each_side, strikes_each_side + 1, dtype=np.float64)
    strikes = atm + offsets * strike_step
    strikes = strikes[strikes > 0]
    vols = smile.vol(atm_vol, forward, strikes, time)
    both_strikes = np.repeat(strikes, 2)
    both_vols = np.repeat(vols, 2)
    calls = np.tile(np.array([True, False]), len(strikes))
    greeks = black_scholes_greeks(spot, both_strikes, time, both_vols, rate, dividend_yield, calls)
    rows = pl.DataFrame(
        {
            "strike": both_strikes,
            "option_type": np.where(calls, "CE", "PE"),
            "price": np.asarray(greeks.price),
            "iv": both_vols,
            "delta": np.asarray(greeks.delta),
            "gamma": np.asarray(greeks.gamma),
            "theta": np.asarray(greeks.theta),
            "vega": np.asarray(greeks.vega),
            "oi": pl.Series("oi", [None] * len(both_strikes), dtype=pl.Int64()),
        },
        schema=CHAIN_SCHEMA,
    )
    return OptionChain(symbol, expiry, as_of, spot, forward, time, "synthetic", rows)
