"""The option model a backtest prices contracts with: `OptionMarket`.

A backtest has the index's candles and a stored at-the-money implied volatility per day, not
the market's option quotes. `OptionMarket` turns those into a contract's price at any bar:
Black-Scholes on the index with the risk-free rate and dividend yield, at the volatility the
`Smile` gives the contract's strike at that moment, the day's ATM IV scaled by it. The same
model prices the synthetic chain (`chain.synthetic_chain`).

A contract is chosen by `choose_contract` when a signal fires: the expiry by the spec's rule on
the fill's day (an expiry whose square-off has passed at the fill rolls to the next), the strike
by its rule from the index at the signal bar's close. Nothing later is read.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.calendar import IST_OFFSET, ist_datetime
from tradeloop.domain.market.session import CLOSE, MINUTES
from tradeloop.domain.options import _kernels
from tradeloop.domain.options.chain import Smile
from tradeloop.domain.options.expiries import SECONDS_PER_YEAR, ExpiryCalendar, ExpiryRule
from tradeloop.domain.options.selection import (
    OptionType,
    strike_ladder,
    strike_nearest_delta,
    strike_nearest_premium,
    strike_steps_out_of_the_money,
)
from tradeloop.domain.strategy.rules import AtmStrike, DeltaStrike, OptionInstrument
from tradeloop.errors import DataValidationError, NotFoundError

NS_PER_YEAR = SECONDS_PER_YEAR * 1e9
LADDER_STEPS = 20
"""Strikes each side of ATM a delta or premium rule chooses among."""
_NS_PER_MINUTE = 60_000_000_000
_NS_PER_DAY = 86_400_000_000_000


@dataclass(frozen=True, slots=True)
class Contract:
    """One option contract as a backtest trades it."""

    symbol: str
    option_type: OptionType
    expiry: date
    strike: float
    expiry_ns: int
    """The expiry's 15:30 IST close, ns UTC: the end of its time value."""
    square_off_ns: int
    """The expiry day's square-off, ns UTC: a position is closed at the first bar from then."""

    @property
    def label(self) -> str:
        """As a trader writes it: ``NIFTY 06MAR25 22500 PE``."""
        strike = f"{self.strike:g}"
        return f"{self.symbol} {self.expiry:%d%b%y}".upper() + f" {strike} {self.option_type}"


@dataclass(frozen=True)
class OptionMarket:
    """The model's inputs for one index (module docstring)."""

    symbol: str
    strike_step: float
    expiries: ExpiryCalendar
    iv_days: np.ndarray
    """datetime64[D], ascending: the IST days with a stored ATM implied volatility."""
    iv: np.ndarray
    """That day's ATM implied volatility, a decimal per year."""
    rate: float
    dividend_yield: float
    smile: Smile
    expiry_square_off: time
    """IST time of day at which a position is closed on its contract's expiry day."""

    _expiry_memo: dict[tuple[date, ExpiryRule, int], date | NotFoundError] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if len(self.iv_days) != len(self.iv):
            raise ValueError(f"{len(self.iv_days)} IV days but {len(self.iv)} values")
        bad = ~(np.isfinite(self.iv) & (self.iv > 0))
        if bad.any():
            day = self.iv_days[int(np.argmax(bad))]
            raise DataValidationError(
                f"the {self.symbol} implied volatility of {day} is {self.iv[bad][0]}: an ATM IV "
                "must be a positive decimal per year (0.14 for 14 %); fix or re-import that day"
            )

    def fingerprint(self) -> dict[str, object]:
        """What of the model decides a backtest's prices, for a digest of its context: the
        rates, the smile, the square-off, the strike step, the IV series, the expiry rules and
        the holidays they move around."""
        digest = hashlib.sha256(self.iv_days.astype("datetime64[D]").tobytes())
        digest.update(np.ascontiguousarray(self.iv, dtype=np.float64).tobytes())
        digest.update(repr(self.expiries.rules).encode())
        digest.update(repr(sorted(self.expiries.calendar.holidays)).encode())
        return {
            "symbol": self.symbol,
            "strike_step": self.strike_step,
            "rate": self.rate,
            "dividend_yield": self.dividend_yield,
            "smile": dataclasses.asdict(self.smile),
            "expiry_square_off": self.expiry_square_off.isoformat(),
            "data": digest.hexdigest()[:20],
        }

    def session_vols(self, arrays: PriceArrays) -> np.ndarray:
        """The ATM IV of each session of `arrays` (indexed by `arrays.session`): the stored IV
        of that IST day, or of the last day before it that has one."""
        firsts = np.flatnonzero(np.diff(arrays.session, prepend=-1) != 0)
        days = ((arrays.ts[firsts] + _ist_offset_ns()) // _NS_PER_DAY).astype("datetime64[D]")
        found = np.searchsorted(self.iv_days, days, side="right") - 1
        if (found < 0).any():
            first = days[int(np.argmax(found < 0))]
            raise DataValidationError(
                f"no {self.symbol} implied volatility is stored on or before {first}: an option "
                "backtest prices its contracts from the day's ATM IV; `tradeloop data synth` "
                "stores one with the candles, or start the backtest later"
            )
        vols: np.ndarray = self.iv[found]
        return vols

    def expiry(self, instrument: OptionInstrument, fill_ns: int, day: date) -> date:
        """The expiry `instrument`'s rule picks for a fill at `fill_ns` on IST `day`: today's
        expiry once its square-off has passed rolls to the rule's next. A NotFoundError says
        why the rule has no contract that day."""
        rule = ExpiryRule(instrument.expiry)
        minimum = instrument.min_days_to_expiry
        expiry = self._expiry_on(day, rule, minimum)
        if fill_ns >= self.square_off_ns(expiry):
            expiry = self._expiry_on(day + timedelta(days=1), rule, minimum)
        return expiry

    def _expiry_on(self, day: date, rule: ExpiryRule, minimum: int) -> date:
        """`ExpiryCalendar.expiry_for`, remembered (a refusal too): a backtest asks it for the
        same few days at every signal."""
        key = (day, rule, minimum)
        if key not in self._expiry_memo:
            try:
                found: date | NotFoundError = self.expiries.expiry_for(
                    self.symbol, day, rule, min_days_left=minimum
                ).day
            except NotFoundError as exc:
                found = exc
            self._expiry_memo[key] = found
        answer = self._expiry_memo[key]
        if isinstance(answer, NotFoundError):
            raise NotFoundError(str(answer))
        return answer

    def square_off_ns(self, expiry: date) -> int:
        """The square-off instant of `expiry`'s day, ns UTC."""
        return _ns(ist_datetime(expiry, self.expiry_square_off))

    def greeks_at(
        self,
        option_type: OptionType,
        expiry: date,
        strikes: np.ndarray,
        spot: float,
        at_ns: int,
        vol: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Price, delta and smile IV of `strikes` of one expiry and type, at `at_ns` with the
        index at `spot` and an ATM IV `vol`."""
        n = len(strikes)
        years = np.full(n, max(expiry_ns(expiry) - at_ns, 0) / NS_PER_YEAR)
        forwards = spot * np.exp(self._carry * years)
        vols = self.smile.vol(vol, forwards, strikes, years)
        calls = np.full(n, option_type is OptionType.CALL)
        rates, carries = np.full(n, self.rate), np.full(n, self._carry)
        strikes = np.ascontiguousarray(strikes, dtype=np.float64)
        out = _kernels.black_batch(forwards, strikes, years, vols, rates, carries, calls, True)
        return out[:, _kernels.PRICE], out[:, _kernels.DELTA], vols

    def prices(
        self, contract: Contract, spots: np.ndarray, at_ns: np.ndarray, vols: np.ndarray
    ) -> np.ndarray:
        """The contract's model price at each (spot, instant, ATM IV)."""
        n = len(spots)
        years = np.maximum(contract.expiry_ns - np.asarray(at_ns), 0) / NS_PER_YEAR
        forwards = np.asarray(spots, dtype=np.float64) * np.exp(self._carry * years)
        smile_vols = self.smile.vol(vols, forwards, contract.strike, years)
        calls = np.full(n, contract.option_type is OptionType.CALL)
        prices: np.ndarray = _kernels.black_price_batch(
            forwards, np.full(n, contract.strike), years, smile_vols, np.full(n, self.rate), calls
        )
        return prices

    @property
    def _carry(self) -> float:
        return self.rate - self.dividend_yield


def choose_contract(
    market: OptionMarket,
    instrument: OptionInstrument,
    spot: float,
    fill_ns: int,
    day: date,
    vol: float,
) -> Contract:
    """The contract a signal buys: the expiry by `market.expiry`, the strike by the spec's
    rule from `spot` (the index at the signal bar's close), valued at the fill with the day's
    ATM IV `vol` for a delta or premium rule. Ties go to the lower strike."""
    option_type = OptionType(instrument.option_type)
    expiry = market.expiry(instrument, fill_ns, day)
    rule, step = instrument.strike, market.strike_step
    if isinstance(rule, AtmStrike):
        strike = strike_steps_out_of_the_money(spot, step, option_type, rule.offset_steps)
    else:
        ladder = strike_ladder(spot, step, LADDER_STEPS)
        ladder = ladder[ladder > 0]
        price, delta, _ = market.greeks_at(option_type, expiry, ladder, spot, fill_ns, vol)
        if isinstance(rule, DeltaStrike):
            strike = strike_nearest_delta(ladder, delta, rule.delta)
        else:
            strike = strike_nearest_premium(ladder, price, rule.premium)
    return Contract(
        market.symbol,
        option_type,
        expiry,
        strike,
        expiry_ns(expiry),
        market.square_off_ns(expiry),
    )


def expiry_ns(expiry: date) -> int:
    """The 15:30 IST close of `expiry`, ns UTC: where its time value ends."""
    return _ns(ist_datetime(expiry, CLOSE))


def bar_end_ns(arrays: PriceArrays) -> np.ndarray:
    """When each bar closes: its open plus its length, never past the session's 15:30."""
    left = MINUTES - arrays.minute_of_session
    ends: np.ndarray = arrays.ts + np.minimum(arrays.bar_minutes, left) * _NS_PER_MINUTE
    return ends


def ist_day(nanoseconds: int) -> date:
    """The IST day of an instant in ns UTC."""
    days = (nanoseconds + _ist_offset_ns()) // _NS_PER_DAY
    return date(1970, 1, 1) + timedelta(days=int(days))


def _ist_offset_ns() -> int:
    return int(IST_OFFSET.total_seconds()) * 1_000_000_000


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000
