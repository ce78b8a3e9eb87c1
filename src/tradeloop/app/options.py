"""Option chains: a model chain from what is stored (the last stored minute's spot and that
day's IV), or Dhan's chain (`dhan_chain`); and the expiries of each source."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from tradeloop.app import stores
from tradeloop.domain.market.calendar import to_ist
from tradeloop.domain.market.instruments import index_instrument
from tradeloop.domain.options.chain import OptionChain, Smile, synthetic_chain
from tradeloop.domain.options.expiries import ExpiryRule, time_to_expiry
from tradeloop.domain.options.market import OptionMarket
from tradeloop.errors import NotFoundError
from tradeloop.settings import Settings

if TYPE_CHECKING:
    from tradeloop.adapters.dhan.option_chain import DhanOptionChains
    from tradeloop.adapters.ratelimit import RateLimiter

DHAN_TIMEOUT_SECONDS = 15.0
"""Seconds to wait for one option-chain answer."""
MODEL_EXPIRY_DAYS = 90
"""How far ahead `model_expiries` lists the expiry calendar."""

ChainAt = Callable[[str, datetime, float, date | None, int], OptionChain]
"""`chain_at` with its settings bound: (symbol, as_of, spot, expiry, strikes_each_side)."""


def option_market(settings: Settings, symbol: str, day: date | None = None) -> OptionMarket:
    """The option model of `symbol` (`domain.options.market`): the stored ATM IV by day, the
    expiry calendar, the strike step on `day` (IST, default today; `ContractTable.strike_step`)
    and the `[options]` settings."""
    name = index_instrument(symbol).symbol
    on = day or to_ist(datetime.now(UTC)).date()
    try:
        volatility = stores.volatility_store(settings).load(name)
    except NotFoundError:  # nothing stored for the symbol yet
        volatility = None
    if volatility is None or volatility.is_empty():
        raise NotFoundError(
            f"no {name} implied volatility is stored: option specs are priced from the day's "
            f"at-the-money IV; `tradeloop data synth --symbol {name}` stores one with the "
            "candles"
        )
    options = settings.options
    return OptionMarket(
        symbol=name,
        strike_step=stores.contract_table(settings).strike_step(name, on),
        expiries=stores.expiry_calendar(settings),
        iv_days=volatility.get_column("day").to_numpy().astype("datetime64[D]"),
        iv=volatility.get_column("iv").to_numpy(),
        rate=options.risk_free_rate,
        dividend_yield=options.dividend_yield,
        smile=smile(settings),
        expiry_square_off=options.expiry_square_off,
    )


def smile(settings: Settings) -> Smile:
    """The `[options]` smile."""
    return Smile(skew=settings.options.smile_skew, curvature=settings.options.smile_curvature)


def stored_chain(
    settings: Settings, symbol: str, *, expiry: date | None, strikes_each_side: int
) -> OptionChain:
    """A model chain of `symbol` as of its last stored 1m bar's close (spot = that close).
    `expiry` defaults to the current weekly, or the monthly where the index has none."""
    name = index_instrument(symbol).symbol
    candles = stores.candle_store(settings)
    summary = next((s for s in candles.series() if s.symbol == name and s.interval == "1m"), None)
    if summary is None:
        raise NotFoundError(
            f"no {name} 1m candles are stored: a chain is priced from the last stored minute; "
            f"run `tradeloop data synth --symbol {name}` or `tradeloop data import FILE "
            f"--symbol {name} --interval 1m` first"
        )
    last = candles.load(name, "1m", start=summary.last).row(-1, named=True)
    as_of: datetime = last["ts"] + timedelta(minutes=1)
    return chain_at(settings, name, as_of, float(last["close"]), expiry, strikes_each_side)


def chain_at(
    settings: Settings,
    symbol: str,
    as_of: datetime,
    spot: float,
    expiry: date | None,
    strikes_each_side: int,
) -> OptionChain:
    """A model chain of `symbol` at `spot` as of `as_of` (UTC): the at-the-money IV is the
    stored IV of that IST day (or the last day before it), priced with the `[options]`
    settings on the index's strike step; `expiry` as in `stored_chain`."""
    name = index_instrument(symbol).symbol
    day = to_ist(as_of).date()
    volatility = stores.volatility_store(settings).load(name, end=day)
    if volatility.is_empty():
        raise NotFoundError(
            f"no {name} implied volatility is stored on or before {day}: the chain's "
            "at-the-money IV comes from it; `tradeloop data synth` stores one with the candles"
        )
    atm_vol = float(volatility.tail(1).get_column("iv")[0])
    calendar = stores.expiry_calendar(settings)
    if expiry is None:
        # After 15:30 on an expiry day, that expiry is over: the chain is the next one's.
        on = day if time_to_expiry(as_of, day) > 0 else day + timedelta(days=1)
        try:
            expiry = calendar.expiry_for(name, on, ExpiryRule.CURRENT_WEEKLY).day
        except NotFoundError:
            expiry = calendar.expiry_for(name, on, ExpiryRule.MONTHLY).day
    elif time_to_expiry(as_of, expiry) <= 0:
        raise NotFoundError(
            f"the {name} {expiry} expiry closed before {to_ist(as_of):%Y-%m-%d %H:%M} IST: "
            "give a later one, or omit --expiry"
        )
    elif expiry not in {e.day for e in calendar.expiries(name, day, expiry)}:
        listed = ", ".join(str(e.day) for e in calendar.expiries(name, day, day + timedelta(45)))
        raise NotFoundError(
            f"{expiry} is not a {name} expiry on or after {day}; the next ones: {listed}"
        )
    options = settings.options
    return synthetic_chain(
        symbol=name,
        spot=spot,
        as_of=as_of,
        expiry=expiry,
        atm_vol=atm_vol,
        strike_step=stores.contract_table(settings).strike_step(name, day),
        strikes_each_side=strikes_each_side,
        rate=options.risk_free_rate,
        dividend_yield=options.dividend_yield,
        smile=smile(settings),
    )


def dhan_option_chains(
    settings: Settings, *, rate_limiter: RateLimiter | None = None
) -> DhanOptionChains:
    """Dhan's option-chain client of the configured account, counting in the account's
    limiter; missing credentials are a `ConfigError` naming the variables."""
    from tradeloop.adapters.dhan.option_chain import DhanOptionChains
    from tradeloop.app.trading import dhan_credentials, dhan_rate_limiter

    client_id, token = dhan_credentials(
        settings,
        "an option chain from Dhan",
        "the model chain, --source model, needs no Dhan account",
    )
    return DhanOptionChains(
        client_id,
        token,
        base_url=settings.dhan_base_url,
        timeout=DHAN_TIMEOUT_SECONDS,
        rate_limiter=rate_limiter or dhan_rate_limiter(settings, client_id),
        rate=settings.options.risk_free_rate,
        dividend_yield=settings.options.dividend_yield,
    )


def dhan_chain(
    settings: Settings,
    symbol: str,
    expiry: date | None,
    strikes_each_side: int,
    *,
    client: DhanOptionChains | None = None,
) -> OptionChain:
    """Dhan's chain of `symbol`, its rows cut to the at-the-money strike and
    `strikes_each_side` each side; `expiry` defaults to the nearest one Dhan lists."""
    chains = client or dhan_option_chains(settings)
    name = index_instrument(symbol).symbol
    if expiry is None:
        listed = chains.expiries(name)
        if not listed:
            raise NotFoundError(f"Dhan lists no {name} expiries")
        expiry = listed[0]
    found = chains.chain(name, expiry)
    return dataclasses.replace(found, rows=found.around(strikes_each_side))


def dhan_expiries(settings: Settings, symbol: str) -> list[date]:
    """The expiries Dhan lists for `symbol`."""
    return dhan_option_chains(settings).expiries(index_instrument(symbol).symbol)


def model_expiries(
    settings: Settings, symbol: str, today: date | None = None
) -> tuple[list[date], date | None]:
    """The expiry calendar's expiries of `symbol` from `today` (IST, default now) for
    `MODEL_EXPIRY_DAYS` days, or up to the last year the NSE holiday table covers (an expiry on
    an unknown holiday would move); with the day the holiday table ends when it cut the list
    short (else None)."""
    name = index_instrument(symbol).symbol
    start = today or to_ist(datetime.now(UTC)).date()
    calendar = stores.expiry_calendar(settings)
    wanted = start + timedelta(MODEL_EXPIRY_DAYS)
    end, cut_at = wanted, None
    holidays = calendar.calendar.holidays
    if holidays:
        known = date(max(day.year for day in holidays), 12, 31)
        if known < wanted:
            end, cut_at = max(start, known), known
    return [e.day for e in calendar.expiries(name, start, end)], cut_at
