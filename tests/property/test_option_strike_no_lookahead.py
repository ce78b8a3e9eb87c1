"""No look-ahead in an option backtest's entry (hypothesis): the first trade's contract (strike,
expiry), size and entry premium are the same whether the backtest sees the whole market or only
the bars up to its fill, and an IV series cut at the fill day.

Random 5m index paths over a few real NSE sessions of 2025 (Thursday weeklies, then Tuesday
ones, holidays included), a random signal bar, random strike, expiry and exit rules.
"""

from __future__ import annotations

import math
from datetime import date, time

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from golden.backtest_frames import GOLDEN_COSTS, signals
from tradeloop.domain.backtest import BacktestConfig, BacktestResult
from tradeloop.domain.backtest.options import run_option_backtest
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.calendar import IST_OFFSET, NSECalendar
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.options.chain import Smile
from tradeloop.domain.options.expiries import ExpiryCalendar, bundled_expiry_rules
from tradeloop.domain.options.market import OptionMarket
from tradeloop.domain.strategy.rules import OptionInstrument

CALENDAR = NSECalendar.default()
EXPIRIES = ExpiryCalendar(bundled_expiry_rules(), CALENDAR)
TRADING_DAYS = CALENDAR.trading_days(date(2025, 1, 6), date(2025, 11, 28))
BARS_PER_SESSION = 75
_NS_PER_MINUTE = 60_000_000_000
_OPEN_NS = (9 * 60 + 15) * _NS_PER_MINUTE - int(IST_OFFSET.total_seconds()) * 1_000_000_000
ENTRY_COLUMNS = (
    "contract",
    "strike",
    "expiry",
    "lots",
    "quantity",
    "entry_time",
    "entry_price",
    "initial_stop",
    "entry_iv",
    "entry_delta",
    "spot_at_entry",
)


def market(days: list[date], seed: int) -> PriceArrays:
    """Random 5m bars on `days`, with overnight gaps."""
    rng = np.random.default_rng(seed)
    sessions = len(days)
    n = sessions * BARS_PER_SESSION
    session = np.repeat(np.arange(sessions, dtype=np.int64), BARS_PER_SESSION)
    minute = np.tile(np.arange(BARS_PER_SESSION, dtype=np.int64) * 5, sessions)
    moves = rng.normal(0.0, 0.002, n)
    jitter = rng.normal(0.0, 0.0005, n)
    jitter[minute == 0] = rng.normal(0.0, 0.006, sessions)
    open_, close = np.empty(n), np.empty(n)
    level = 23_000.0
    for i in range(n):
        open_[i] = level * math.exp(jitter[i])
        close[i] = open_[i] * math.exp(moves[i])
        level = close[i]
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.0015, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.0015, n)))
    midnights = np.array(
        [np.datetime64(day, "ns").astype(np.int64) for day in days], dtype=np.int64
    )
    ts = midnights[session] + _OPEN_NS + minute * _NS_PER_MINUTE
    return PriceArrays(open_, high, low, close, np.zeros(n), session, minute, ts, bar_minutes=5)


def cut(arrays: PriceArrays, stop: int) -> PriceArrays:
    return PriceArrays(
        arrays.open[:stop],
        arrays.high[:stop],
        arrays.low[:stop],
        arrays.close[:stop],
        arrays.volume[:stop],
        arrays.session[:stop],
        arrays.minute_of_session[:stop],
        arrays.ts[:stop],
        bar_minutes=5,
    )


def option_market(days: np.ndarray, vols: np.ndarray) -> OptionMarket:
    return OptionMarket("NIFTY", 50.0, EXPIRIES, days, vols, 0.065, 0.0, Smile(), time(15, 15))


STRIKES = st.one_of(
    st.integers(-3, 3).map(lambda n: {"rule": "atm", "offset_steps": n}),
    st.floats(0.1, 0.9).map(lambda d: {"rule": "delta", "delta": d}),
    st.floats(20.0, 400.0).map(lambda p: {"rule": "premium", "premium": p}),
)


def first_entry(result: BacktestResult) -> dict[str, object]:
    row = result.trades.row(0, named=True)
    return {name: row[name] for name in ENTRY_COLUMNS}


@settings(max_examples=40, deadline=None)
@given(
    first=st.integers(0, len(TRADING_DAYS) - 4),
    sessions=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    at=st.floats(0.0, 1.0),
    option_type=st.sampled_from(["CE", "PE"]),
    strike=STRIKES,
    expiry=st.sampled_from(["current_weekly", "next_weekly", "monthly"]),
    min_days=st.sampled_from([0, 0, 1, 3]),
    exits_on=st.sampled_from(["underlying", "premium"]),
    iv_seed=st.integers(0, 2**32 - 1),
)
def test_the_first_trades_contract_and_entry_do_not_read_past_its_fill(
    first: int,
    sessions: int,
    seed: int,
    at: float,
    option_type: str,
    strike: dict[str, object],
    expiry: str,
    min_days: int,
    exits_on: str,
    iv_seed: int,
) -> None:
    days = TRADING_DAYS[first : first + sessions]
    arrays = market(days, seed)
    n = len(arrays.close)
    signal = min(int(at * (n - 2)), n - 3)
    fill = signal + 1
    direction = 1 if option_type == "CE" else -1
    stop_fraction = 0.3 if exits_on == "premium" else 0.004
    instrument = OptionInstrument.model_validate(
        {
            "kind": "option",
            "option_type": option_type,
            "strike": strike,
            "expiry": expiry,
            "min_days_to_expiry": min_days,
            "exits_on": exits_on,
        }
    )
    facts = ContractFacts("NIFTY", ContractKind(option_type), 75, 0.05, "tests")
    config = BacktestConfig.for_option("NIFTY", facts, capital=5_000_000.0)
    iv_days = np.arange(
        np.datetime64(days[0]) - 3, np.datetime64(days[-1]) + 1, dtype="datetime64[D]"
    )
    vols = np.random.default_rng(iv_seed).uniform(0.08, 0.35, len(iv_days))

    def run(bars: PriceArrays, iv_until: np.datetime64) -> BacktestResult:
        keep = iv_days <= iv_until
        return run_option_backtest(
            signals(
                len(bars.close),
                [signal],
                direction=direction,
                stop_fraction=stop_fraction,
                target_fraction=None,
            ),
            instrument,
            bars,
            config,
            GOLDEN_COSTS,
            option_market(iv_days[keep], vols[keep]),
        )

    whole = run(arrays, iv_days[-1])
    fill_day = np.datetime64(days[int(arrays.session[fill])])
    seen = run(cut(arrays, fill + 1), fill_day)
    assert seen.trades.height == whole.trades.height
    assert seen.metrics.skipped_zero_lot == whole.metrics.skipped_zero_lot
    assert seen.metrics.skipped_invalid_stop == whole.metrics.skipped_invalid_stop
    event(f"traded: {whole.trades.height}")
    if whole.trades.height:
        assert first_entry(seen) == first_entry(whole)
