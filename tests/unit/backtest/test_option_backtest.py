"""Option backtests (`run_option_backtest`) on hand-made index candles and signals.

Every frame here is typed in (or drawn from a fixed seed) on real NSE days, so the expiry
calendar with the bundled holidays picks the contracts: NIFTY weeklies on Thursdays until
August 2025, Tuesdays from September, a holiday moving the expiry to the trading day before.
The IV is a constant 14 % from well before the candles.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from golden.backtest_frames import GOLDEN_COSTS, Bar, candles, minute_bars, signals
from support.contracts import NIFTY_FUTURE
from tradeloop.domain.backtest import BacktestConfig, BacktestResult
from tradeloop.domain.backtest.options import run_option_backtest
from tradeloop.domain.market.calendar import IST, NSECalendar
from tradeloop.domain.market.contracts import ContractFacts
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.options.chain import Smile
from tradeloop.domain.options.expiries import ExpiryCalendar, bundled_expiry_rules
from tradeloop.domain.options.market import OptionMarket, choose_contract, ist_day
from tradeloop.domain.price_ticks import round_to_tick
from tradeloop.domain.strategy.rules import OptionInstrument
from tradeloop.domain.strategy.signals import Signals
from tradeloop.errors import DataValidationError, UserError

CALENDAR = NSECalendar.default()
EXPIRIES = ExpiryCalendar(bundled_expiry_rules(), CALENDAR)
LOT = 75
CE_FACTS = ContractFacts("NIFTY", ContractKind.CE, LOT, 0.05, "tests")
PE_FACTS = ContractFacts("NIFTY", ContractKind.PE, LOT, 0.05, "tests")
SQUARE_OFF = time(15, 15)
IV = 0.14


def option_market(iv_from: str = "2024-12-02", square_off: time = SQUARE_OFF) -> OptionMarket:
    days = np.arange(np.datetime64(iv_from), np.datetime64("2026-01-01"), dtype="datetime64[D]")
    return OptionMarket(
        "NIFTY",
        50.0,
        EXPIRIES,
        days,
        np.full(len(days), IV),
        0.065,
        0.0,
        Smile(),
        square_off,
    )


MARKET = option_market()


def instrument(option_type: str, exits_on: str = "underlying", **rest: object) -> OptionInstrument:
    return OptionInstrument.model_validate(
        {
            "kind": "option",
            "option_type": option_type,
            "strike": {"rule": "atm", "offset_steps": 0},
            "exits_on": exits_on,
            **rest,
        }
    )


def config(option_type: str, **overrides: object) -> BacktestConfig:
    facts = CE_FACTS if option_type == "CE" else PE_FACTS
    return BacktestConfig.for_option("NIFTY", facts, **overrides)


def session_bars(day: str, closes: list[float], first: str = "09:15", step: int = 5) -> list[Bar]:
    """Bars of `step` minutes from `first` on `day`, each opening at the previous close, with a
    wick of 2 points either side."""
    start = datetime.strptime(f"{day} {first}", "%Y-%m-%d %H:%M").replace(tzinfo=IST)
    bars: list[Bar] = []
    level = closes[0]
    for index, close in enumerate(closes):
        stamp = start + timedelta(minutes=step * index)
        open_ = level
        bars.append(
            (f"{stamp:%Y-%m-%d %H:%M}", open_, max(open_, close) + 2, min(open_, close) - 2, close)
        )
        level = close
    return bars


def random_walk_frame(days: list[str], seed: int, level: float = 22_500.0) -> pl.DataFrame:
    """Full 5m sessions (75 bars from 09:15) on `days`, a seeded random walk of the index."""
    rng = np.random.default_rng(seed)
    bars: list[Bar] = []
    for day in days:
        closes = list(level + np.cumsum(rng.normal(0.0, 25.0, 75)))
        bars += session_bars(day, closes)
        level = closes[-1]
    return candles(bars, interval="5m")


def flat_frame(days: list[str], level: float = 22_500.0, step: int = 5) -> pl.DataFrame:
    """Sessions of a gently rising index (no 1 % stop is ever touched)."""
    count = 375 // step
    bars: list[Bar] = []
    for day in days:
        closes = [level + 0.1 * i for i in range(count)]
        bars += session_bars(day, closes, step=step)
    return candles(bars, interval=f"{step}m")


def ist(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=IST)


def trade_rows(result: BacktestResult) -> list[dict[str, Any]]:
    return result.trades.with_columns(pl.col("exit_reason").cast(pl.String)).to_dicts()


def at(frame: pl.DataFrame, when: str) -> int:
    """The index of the bar opening at IST `when`."""
    stamps = frame["ts"].to_list()
    return stamps.index(ist(when))


# -- the P&L identity, lots and risk -------------------------------------------------------------

WEEK = ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07"]
CASES = [
    pytest.param(exits_on, option_type, id=f"{exits_on}-{option_type}")
    for exits_on in ("underlying", "premium")
    for option_type in ("CE", "PE")
]


def week_signals(frame: pl.DataFrame, option_type: str, exits_on: str) -> Signals:
    entries = list(range(3, frame.height - 2, 17))
    direction = 1 if option_type == "CE" else -1
    if exits_on == "premium":  # percent of the premium
        return signals(
            frame.height, entries, direction=direction, stop_fraction=0.25, target_fraction=0.4
        )
    return signals(
        frame.height, entries, direction=direction, stop_fraction=0.004, target_fraction=0.006
    )


@pytest.mark.parametrize(("exits_on", "option_type"), CASES)
def test_each_trade_nets_its_premium_move_less_costs_and_equity_adds_up(
    exits_on: str, option_type: str
) -> None:
    frame = random_walk_frame(WEEK, seed=3)
    result = run_option_backtest(
        week_signals(frame, option_type, exits_on),
        instrument(option_type, exits_on),
        frame,
        config(option_type),
        GOLDEN_COSTS,
        MARKET,
    )
    trades = trade_rows(result)
    assert len(trades) >= 5, "the case should trade enough to check anything"
    for trade in trades:
        moved = (trade["exit_price"] - trade["entry_price"]) * trade["quantity"]
        assert trade["net_pnl"] == pytest.approx(moved - trade["costs"], abs=1e-6)
        assert trade["gross_pnl"] == pytest.approx(moved, abs=1e-6)
        assert trade["costs"] > 0
        assert trade["option_type"] == option_type
        assert trade["direction"] == "long"  # premium is always bought
    net = sum(t["net_pnl"] for t in trades)
    assert result.metrics.end_equity == pytest.approx(1_000_000.0 + net, abs=1e-6)
    assert result.metrics.net_pnl == pytest.approx(net, abs=1e-6)
    assert result.bar_equity is not None
    assert result.bar_equity[-1] == pytest.approx(1_000_000.0 + net, abs=1e-6)


@pytest.mark.parametrize(("exits_on", "option_type"), CASES)
@pytest.mark.parametrize("compounding", [True, False])
def test_trades_are_whole_lots_with_premium_at_risk_inside_the_budget(
    exits_on: str, option_type: str, compounding: bool
) -> None:
    frame = random_walk_frame(WEEK, seed=5)
    result = run_option_backtest(
        week_signals(frame, option_type, exits_on),
        instrument(option_type, exits_on),
        frame,
        config(option_type, compounding=compounding, risk_per_trade_pct=0.5),
        GOLDEN_COSTS,
        MARKET,
    )
    trades = trade_rows(result)
    assert trades
    equity = 1_000_000.0
    for trade in trades:
        quantity = trade["quantity"]
        assert quantity > 0
        assert quantity % LOT == 0
        assert trade["lots"] == quantity // LOT
        base = equity if compounding else 1_000_000.0
        # The premium at risk as sized: from the decision's premium (premium exits) or from
        # the fill (index exits) to the initial stop, the risk manager's measure.
        at_risk = trade["risk_per_unit"] * quantity
        assert 0 < at_risk <= base * 0.005 + 1e-6
        # the most lots inside the budget: one more would have been over it
        assert trade["risk_per_unit"] * (quantity + LOT) > base * 0.005
        equity += trade["net_pnl"]


@pytest.mark.parametrize(("exits_on", "option_type"), CASES)
def test_trade_list_explains_the_contract_and_its_greeks(exits_on: str, option_type: str) -> None:
    frame = random_walk_frame(WEEK, seed=3)
    result = run_option_backtest(
        week_signals(frame, option_type, exits_on),
        instrument(option_type, exits_on),
        frame,
        config(option_type),
        GOLDEN_COSTS,
        MARKET,
    )
    trades = result.trades
    assert result.legs is not None
    for column in ("contract", "strike", "expiry", "lots", "entry_iv", "entry_delta"):
        assert column in trades.columns
        assert column in result.legs.columns
    assert trades["spot_at_entry"].null_count() == 0
    for trade in trade_rows(result):
        assert trade["strike"] % 50 == 0
        assert abs(trade["strike"] - trade["spot_at_entry"]) <= 50  # ATM from the signal close
        expiry = trade["expiry"]
        assert isinstance(expiry, date)
        assert trade["contract"] == (
            f"NIFTY {expiry:%d%b%y}".upper() + f" {trade['strike']:g} {option_type}"
        )
        assert trade["entry_iv"] == pytest.approx(IV, abs=0.03)  # ATM IV on the smile
        if option_type == "CE":
            assert 0.0 < trade["entry_delta"] < 1.0
        else:
            assert -1.0 < trade["entry_delta"] < 0.0
        assert 0.2 < abs(trade["entry_delta"]) < 0.8  # near the money


# -- the expiry day --------------------------------------------------------------------------------


def test_nifty_2025_03_06_is_a_thursday_weekly_expiry() -> None:
    assert date(2025, 3, 6).weekday() == 3
    assert date(2025, 3, 6) in [
        e.day for e in EXPIRIES.expiries("NIFTY", date(2025, 3, 3), date(2025, 3, 7))
    ]


@pytest.mark.parametrize("option_type", ["CE", "PE"])
@pytest.mark.parametrize("exits_on", ["underlying", "premium"])
def test_an_expiry_morning_position_is_squared_off_at_the_expiry_cut(
    option_type: str, exits_on: str
) -> None:
    frame = flat_frame(["2025-03-06"])
    signal = at(frame, "2025-03-06 09:30")
    direction = 1 if option_type == "CE" else -1
    stop = 0.9 if exits_on == "premium" else 0.01
    result = run_option_backtest(
        signals(
            frame.height, [signal], direction=direction, stop_fraction=stop, target_fraction=None
        ),
        instrument(option_type, exits_on),
        frame,
        config(option_type),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["expiry"] == date(2025, 3, 6)
    assert trade["entry_time"] == ist("2025-03-06 09:35")
    assert trade["exit_reason"] == "square_off"
    assert trade["exit_time"] == ist("2025-03-06 15:15")
    assert trade["exit_bar"] == at(frame, "2025-03-06 15:15")
    assert trade["spot_at_exit"] == pytest.approx(frame["open"][trade["exit_bar"]])


def test_the_expiry_cut_is_the_open_of_the_first_bar_from_the_square_off_time() -> None:
    """No bar opens at 15:15 (a gap in the 1m data): the position leaves at 15:17's open, the
    first bar from the cut, not at the session's end."""
    morning = minute_bars("2025-03-06 09:15", [(22_500.0, 22_502.0, 22_498.0, 22_500.0)] * 10)
    late = [
        bar
        for bar in minute_bars("2025-03-06 15:05", [(22_510.0, 22_512.0, 22_508.0, 22_510.0)] * 25)
        if bar[0] not in ("2025-03-06 15:15", "2025-03-06 15:16")
    ]
    frame = candles(morning + late)
    result = run_option_backtest(
        signals(frame.height, [2], stop_fraction=0.01, target_fraction=None),
        instrument("CE"),
        frame,
        config("CE"),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["exit_reason"] == "square_off"
    assert trade["exit_time"] == ist("2025-03-06 15:17")
    assert trade["spot_at_exit"] == pytest.approx(22_510.0)


DAILY_AROUND_EXPIRY = candles(
    [
        ("2025-03-04 09:15", 22_500.0, 22_550.0, 22_450.0, 22_500.0),
        ("2025-03-05 09:15", 22_500.0, 22_550.0, 22_450.0, 22_500.0),
        ("2025-03-06 09:15", 22_500.0, 22_600.0, 22_450.0, 22_550.0),  # expiry day
        ("2025-03-07 09:15", 22_900.0, 22_950.0, 22_850.0, 22_900.0),
    ],
    interval="1d",
)
EXPIRY_TAIL_MISSING = candles(
    minute_bars("2025-03-06 14:50", [(22_500.0, 22_502.0, 22_498.0, 22_500.0)] * 20)  # to 15:09
    + minute_bars("2025-03-07 09:15", [(22_900.0, 22_902.0, 22_898.0, 22_900.0)] * 20)
)


@pytest.mark.parametrize(
    ("frame", "signal"),
    [
        pytest.param(DAILY_AROUND_EXPIRY, 1, id="1d-bars"),
        pytest.param(EXPIRY_TAIL_MISSING, 2, id="1m-bars-ending-15:09"),
    ],
)
def test_a_position_never_outlives_its_contracts_expiry(frame: pl.DataFrame, signal: int) -> None:
    """No bar of the expiry day opens at or after the 15:15 cut (a daily bar; 1m data whose
    expiry day ends at 15:09): the contract still expires at 15:30 that day, so the position
    must be closed on the expiry day, not carried to the next session's open and valued at
    the intrinsic value of an index move that happened after the contract ceased to exist."""
    result = run_option_backtest(
        signals(frame.height, [signal], stop_fraction=0.05, target_fraction=None),
        instrument("CE"),
        frame,
        config("CE"),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["expiry"] == date(2025, 3, 6)
    expiry_close = datetime.combine(date(2025, 3, 6), time(15, 30), tzinfo=IST)
    assert trade["exit_time"] <= expiry_close, (
        f"held past expiry: exited {trade['exit_time']} at {trade['exit_price']} "
        f"({trade['exit_reason']}), index {trade['spot_at_exit']}"
    )
    assert trade["spot_at_exit"] != pytest.approx(22_900.0)  # the next session's index
    assert trade["exit_reason"] == "square_off"  # at the expiry day's last close


def test_a_position_carried_into_expiry_day_is_squared_off_that_afternoon() -> None:
    frame = flat_frame(["2025-03-05", "2025-03-06", "2025-03-07"])
    signal = at(frame, "2025-03-05 14:00")
    result = run_option_backtest(
        signals(frame.height, [signal], stop_fraction=0.01, target_fraction=None),
        instrument("CE"),
        frame,
        config("CE"),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["expiry"] == date(2025, 3, 6)
    assert trade["exit_reason"] == "square_off"
    assert trade["exit_time"] == ist("2025-03-06 15:15")


@pytest.mark.parametrize(
    ("signal_at", "expiry"),
    [
        ("2025-03-06 15:05", date(2025, 3, 6)),  # fill 15:10: still before the cut
        ("2025-03-06 15:10", date(2025, 3, 13)),  # fill 15:15: the cut itself rolls over
        ("2025-03-06 15:20", date(2025, 3, 13)),  # fill 15:25: after the cut
    ],
)
def test_a_signal_at_the_expiry_cut_or_later_buys_the_next_expiry(
    signal_at: str, expiry: date
) -> None:
    frame = flat_frame(["2025-03-06", "2025-03-07"])
    signal = at(frame, signal_at)
    result = run_option_backtest(
        signals(frame.height, [signal], direction=-1, stop_fraction=0.01, target_fraction=None),
        instrument("PE"),
        frame,
        config("PE"),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["expiry"] == expiry
    assert trade["contract"].startswith(f"NIFTY {expiry:%d%b%y}".upper())
    if expiry == date(2025, 3, 6):
        assert trade["exit_reason"] == "square_off"
        assert trade["exit_time"] == ist("2025-03-06 15:15")
    else:
        assert trade["exit_reason"] == "end_of_data"  # held past the old expiry's cut
        assert trade["exit_time"] > ist("2025-03-07 15:00")


def test_the_square_off_time_is_the_markets_setting() -> None:
    frame = flat_frame(["2025-03-06"])
    result = run_option_backtest(
        signals(frame.height, [3], stop_fraction=0.01, target_fraction=None),
        instrument("CE"),
        frame,
        config("CE"),
        GOLDEN_COSTS,
        option_market(square_off=time(14, 30)),
    )
    (trade,) = trade_rows(result)
    assert trade["exit_reason"] == "square_off"
    assert trade["exit_time"] == ist("2025-03-06 14:30")


# -- holidays move the expiry ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holiday", "days", "signal_at", "moved_to"),
    [
        # Shri Mahavir Jayanti, Thursday 2025-04-10: the weekly expires on Wednesday the 9th
        (
            date(2025, 4, 10),
            ["2025-04-07", "2025-04-08", "2025-04-09", "2025-04-11"],
            "2025-04-07 10:00",
            date(2025, 4, 9),
        ),
        # Diwali Laxmi Pujan, Tuesday 2025-10-21 (Tuesday weeklies): Monday the 20th
        (
            date(2025, 10, 21),
            ["2025-10-16", "2025-10-17", "2025-10-20", "2025-10-23"],
            "2025-10-16 10:00",
            date(2025, 10, 20),
        ),
    ],
)
def test_a_holiday_on_the_expiry_weekday_moves_the_expiry_to_the_trading_day_before(
    holiday: date, days: list[str], signal_at: str, moved_to: date
) -> None:
    assert not CALENDAR.is_trading_day(holiday)
    assert CALENDAR.previous_trading_day(holiday) == moved_to
    frame = flat_frame(days)
    result = run_option_backtest(
        signals(frame.height, [at(frame, signal_at)], stop_fraction=0.01, target_fraction=None),
        instrument("CE"),
        frame,
        config("CE"),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["expiry"] == moved_to
    assert trade["exit_reason"] == "square_off"
    assert trade["exit_time"] == datetime.combine(moved_to, SQUARE_OFF, tzinfo=IST)


# -- exits on the premium and on the index -------------------------------------------------------


def falling_day(direction: int) -> pl.DataFrame:
    """A quiet first hour, then the index walks 8 points a bar against a `direction` view."""
    closes = [22_500.0] * 12 + [22_500.0 - direction * 8.0 * i for i in range(1, 64)]
    return candles(session_bars("2025-03-04", closes), interval="5m")


def premium_bars(
    result: BacktestResult, frame: pl.DataFrame, option_type: str, column: str | None = None
) -> np.ndarray:
    """The model's premium at each bar's adverse extreme (or `column`) at the bar's close
    time, for the first trade's contract, rebuilt from the market: what the stop is checked
    against."""
    trade = trade_rows(result)[0]
    signal = int(trade["signal_bar"])
    stamps = frame["ts"].dt.epoch("ns").to_numpy()
    fill = int(stamps[signal + 1])
    contract = choose_contract(
        MARKET,
        instrument(option_type),
        float(frame["close"][signal]),
        fill,
        ist_day(fill),
        IV,
    )
    assert contract.strike == trade["strike"]
    adverse = frame["low"] if option_type == "CE" else frame["high"]
    if column is not None:
        adverse = frame[column]
    ends = stamps + 5 * 60_000_000_000
    vols = np.full(frame.height, IV)
    return MARKET.prices(contract, adverse.to_numpy(), ends, vols)


@pytest.mark.parametrize("option_type", ["CE", "PE"])
def test_a_premium_stop_exits_when_the_premium_falls_through_it(option_type: str) -> None:
    direction = 1 if option_type == "CE" else -1
    frame = falling_day(direction)
    pct = 0.3
    result = run_option_backtest(
        signals(frame.height, [5], direction=direction, stop_fraction=pct, target_fraction=None),
        instrument(option_type, "premium"),
        frame,
        config(option_type, slippage_bps=2.0),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["exit_reason"] == "stop"
    # 30 % below the premium the decision was taken at (the signal bar's close).
    decided = trade["risk_per_unit"] / pct
    stop = trade["initial_stop"]
    assert stop == pytest.approx(round_to_tick(decided * (1 - pct), 0.05, 1), abs=1e-9)
    assert decided == pytest.approx(premium_bars(result, frame, option_type, "close")[5])
    slip = stop * 2.0 / 10_000
    assert trade["exit_price"] <= stop - slip + 1e-9
    assert trade["exit_price"] >= stop - slip - 1e-6  # no gap: filled at the stop
    assert trade["net_pnl"] < 0
    lows = premium_bars(result, frame, option_type)
    entry_bar, exit_bar = int(trade["entry_bar"]), int(trade["exit_bar"])
    touched = np.flatnonzero(lows[entry_bar:] <= trade["initial_stop"])
    assert touched.size, "the premium should have fallen through the stop"
    assert exit_bar == entry_bar + int(touched[0])


@pytest.mark.parametrize("option_type", ["CE", "PE"])
def test_a_premium_stop_not_reached_holds_on(option_type: str) -> None:
    direction = 1 if option_type == "CE" else -1
    frame = flat_frame(["2025-03-04"])  # the premium only bleeds its time value
    result = run_option_backtest(
        signals(frame.height, [5], direction=direction, stop_fraction=0.95, target_fraction=None),
        instrument(option_type, "premium"),
        frame,
        config(option_type),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["exit_reason"] == "end_of_data"


@pytest.mark.parametrize("option_type", ["CE", "PE"])
def test_an_underlying_stop_exits_when_the_index_touches_its_level(option_type: str) -> None:
    direction = 1 if option_type == "CE" else -1
    frame = falling_day(direction)
    fraction = 0.005
    result = run_option_backtest(
        signals(
            frame.height, [5], direction=direction, stop_fraction=fraction, target_fraction=None
        ),
        instrument(option_type, "underlying"),
        frame,
        config(option_type),
        GOLDEN_COSTS,
        MARKET,
    )
    (trade,) = trade_rows(result)
    assert trade["exit_reason"] == "stop"
    spot = trade["spot_at_entry"]
    assert spot == pytest.approx(frame["open"][6])  # the index fill carries no slippage
    level = spot * (1 - direction * fraction)
    assert trade["spot_at_exit"] == pytest.approx(level)
    adverse = (frame["low"] if direction > 0 else frame["high"]).to_numpy()
    crossed = adverse <= level if direction > 0 else adverse >= level
    first = int(np.flatnonzero(crossed[6:])[0]) + 6
    assert trade["exit_bar"] == first
    assert trade["exit_price"] < trade["entry_price"]
    # the premium at the index stop, at entry, is the premium stop the trade was sized with
    assert trade["initial_stop"] < trade["entry_price"]


# -- bad input --------------------------------------------------------------------------------


def test_an_index_config_is_refused_naming_for_option() -> None:
    frame = flat_frame(["2025-03-04"])
    futures = BacktestConfig.for_symbol("NIFTY", NIFTY_FUTURE)
    with pytest.raises(UserError, match="for_option"):
        run_option_backtest(
            signals(frame.height, [3]), instrument("CE"), frame, futures, GOLDEN_COSTS, MARKET
        )


def test_option_facts_of_another_underlying_are_refused() -> None:
    with pytest.raises(ValueError, match="for_option"):
        BacktestConfig.for_option("BANKNIFTY", CE_FACTS)
    with pytest.raises(ValueError, match="for_option"):
        BacktestConfig.for_option("NIFTY", NIFTY_FUTURE)


def test_an_iv_series_starting_after_the_candles_names_the_first_day_without_one() -> None:
    frame = flat_frame(["2025-03-03", "2025-03-04"])
    late = option_market(iv_from="2025-03-04")
    with pytest.raises(DataValidationError, match="2025-03-03"):
        run_option_backtest(
            signals(frame.height, [3]), instrument("CE"), frame, config("CE"), GOLDEN_COSTS, late
        )


def test_no_signal_no_trade_and_flat_equity() -> None:
    frame = flat_frame(["2025-03-04"])
    result = run_option_backtest(
        signals(frame.height, []), instrument("CE"), frame, config("CE"), GOLDEN_COSTS, MARKET
    )
    assert result.trades.height == 0
    assert result.legs is not None
    assert result.legs.height == 0
    assert result.metrics.end_equity == 1_000_000.0


# -- a rule without a contract ------------------------------------------------------------------


def test_a_signal_on_a_day_without_a_contract_of_the_rule_is_skipped_and_says_why() -> None:
    """BANKNIFTY's weeklies ended on 2024-11-14: a current-weekly spec finds no contract in
    2025; its signals are counted as skipped, with the expiry calendar's reason, and the run
    goes on (a research run of many specs must not stop on one)."""
    frame = random_walk_frame(WEEK, seed=3, level=48_000.0).with_columns(
        pl.lit("BANKNIFTY").alias("symbol")
    )
    market = OptionMarket(
        "BANKNIFTY",
        100.0,
        EXPIRIES,
        MARKET.iv_days,
        MARKET.iv,
        0.065,
        0.0,
        Smile(),
        SQUARE_OFF,
    )
    facts = ContractFacts("BANKNIFTY", ContractKind.CE, 30, 0.05, "tests")
    entries = [10, 90, 200]
    result = run_option_backtest(
        signals(frame.height, entries, stop_fraction=0.004, target_fraction=0.006),
        instrument("CE"),
        frame,
        BacktestConfig.for_option("BANKNIFTY", facts),
        GOLDEN_COSTS,
        market,
    )
    assert result.trades.height == 0
    assert result.metrics.skipped_no_contract == len(entries)
    assert result.metrics.end_equity == result.config.capital
    assert result.notes, "the reason of the skipped signals"
    assert all("weekly options were discontinued from 2024-11-14" in n for n in result.notes), (
        result.notes
    )
    monthly = run_option_backtest(
        signals(frame.height, entries, stop_fraction=0.004, target_fraction=0.006),
        instrument("CE", expiry="monthly"),
        frame,
        BacktestConfig.for_option("BANKNIFTY", facts),
        GOLDEN_COSTS,
        market,
    )
    assert monthly.trades.height > 0 and monthly.notes == ()
    assert monthly.metrics.skipped_no_contract == 0
    assert set(monthly.trades["expiry"]) == {date(2025, 3, 27)}
