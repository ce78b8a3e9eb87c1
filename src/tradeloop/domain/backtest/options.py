"""Option backtests: the signals come from the index, the trades are in the option.

An option spec compiles on the index's candles like any other (one compiler). Each signal the
backtest takes buys one contract, chosen then by `options.market.choose_contract`; from the
fill on, the contract is priced bar by bar by the `OptionMarket` model:

* a bar's **open** premium from the index's open at the bar's open time; its **high, low and
  close** from the index's favourable extreme, adverse extreme and close at the bar's close
  time (the later time: time decay counts against the buyer inside the bar);
* the position is **long premium** whatever the view: a long spec buys a CE, a short one a PE,
  so every trade's P&L is (exit premium − entry premium) × quantity − costs;
* **exits on the premium** (`exits_on: "premium"`): the stop, target, trailing stop and
  break-even of the spec apply to those premium bars, by the very exit rules of an index
  backtest (`exits.find_exit`);
* **exits on the underlying** (the default): the spec's levels apply to the index, as in an index
  backtest; the premium is priced where and when the index exit happened. The premium at risk
  is the entry premium less the premium the contract would have at the index stop, at entry;
* on the contract's **expiry day** the position is closed at the open of the first bar from the
  square-off time (`OptionMarket.expiry_square_off`), as `square_off`;
* **sizing** is the risk manager's rule on the premium: whole lots whose premium at risk is at
  most the risk budget, and whose premium paid is under the notional cap;
* **costs** are the option rows of the cost table, charged on the premium.

Fills, slippage, costs and equity follow docs/backtesting.md exactly as for an index, with the
premium as the price. The trade list gains each trade's contract, lots, and the IV and delta
at entry (`BacktestResult.legs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from tradeloop.domain.backtest import exits, kernel, layout
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.engine import (
    METRIC_COLUMNS,
    MarketData,
    bar_range,
    check_alignment,
    floats,
    frozen,
    kernel_market,
    kernel_rates,
    market_arrays,
    spec_vector,
)
from tradeloop.domain.backtest.fills import close_position, open_position, slippage
from tradeloop.domain.backtest.metrics import metrics_batch
from tradeloop.domain.backtest.result import BacktestResult
from tradeloop.domain.costs import CostTable, InstrumentKind
from tradeloop.domain.indicators.base import PriceArrays
from tradeloop.domain.market.session import OPEN_MINUTE
from tradeloop.domain.options.market import (
    Contract,
    OptionMarket,
    bar_end_ns,
    choose_contract,
    ist_day,
)
from tradeloop.domain.options.selection import OptionType
from tradeloop.domain.strategy.rules import OptionInstrument
from tradeloop.domain.strategy.signals import Signals
from tradeloop.errors import NotFoundError, UserError

LEG_SCHEMA: dict[str, pl.DataType] = {
    "contract": pl.String(),
    "option_type": pl.String(),
    "strike": pl.Float64(),
    "expiry": pl.Date(),
    "lots": pl.Int64(),
    "entry_iv": pl.Float64(),
    "entry_delta": pl.Float64(),
    "spot_at_entry": pl.Float64(),
    "spot_at_exit": pl.Float64(),
}
"""What `BacktestResult.legs` adds to an option trade list, one row per trade."""
MAX_NOTES = 3
"""Distinct reasons for skipped signals a result keeps."""


@dataclass(frozen=True)
class OptionTrade:
    """One signal's trade: the kernel's record (premium prices, global bars) and its leg."""

    record: np.ndarray
    contract: Contract
    lots: int
    entry_iv: float
    entry_delta: float
    spot_at_entry: float
    spot_at_exit: float
    entry_costs: float
    """The entry order's charges: paid when the position opens."""
    premium_closes: np.ndarray
    """The premium at the close of each held bar, entry bar first (for the equity curve)."""


class _Run:
    """One option backtest over bars [start, end): the shared arrays, built once."""

    def __init__(
        self,
        signals: Signals,
        instrument: OptionInstrument,
        arrays: PriceArrays,
        config: BacktestConfig,
        cost_table: CostTable,
        market: OptionMarket,
        end: int,
    ) -> None:
        self.signals, self.instrument, self.arrays = signals, instrument, arrays
        self.market, self.end = market, end
        self.no_contract: dict[str, None] = {}
        """Why signals found no contract (distinct messages, in order): the result's notes."""
        self.config_vector = floats(config.kernel_vector())
        self.rates = kernel_rates(config, cost_table)
        self.lot_size = config.lot_size
        self.on_premium = instrument.exits_on == "premium"
        self.bar_vols = market.session_vols(arrays)[arrays.session]
        self.bar_ends = bar_end_ns(arrays)
        rules = spec_vector(signals)
        self.has_square_off = signals.square_off_minute >= 0
        self.square_off = (
            exits.square_off_bars(
                arrays.session, arrays.minute_of_session, signals.square_off_minute - OPEN_MINUTE
            )
            if self.has_square_off
            else np.empty(0, dtype=np.int64)
        )
        rules[layout.P_HAS_SQUARE_OFF] = 1.0  # the expiry day's square-off, at least
        self.index_rules = floats(rules)
        premium_rules = rules.copy()
        premium_rules[layout.P_DIRECTION] = 1.0  # premium is bought, whatever the view
        self.premium_rules = floats(premium_rules)
        # The premium's offsets below are measured from its fill: size them from the fill.
        fill_config = config.kernel_vector()
        fill_config[layout.C_LEVELS_FROM_SIGNAL] = 0.0
        self.fill_config = floats(fill_config)
        index_config = config.kernel_vector()
        index_config[layout.C_FIXED_SIZING] = 1.0
        index_config[layout.C_QUANTITY] = 1.0
        index_config[layout.C_SLIPPAGE_BPS] = 0.0  # the index path finds when and where only
        index_config[layout.C_SLIPPAGE_TICKS] = 0.0
        index_config[layout.C_APPLY_COSTS] = 0.0
        self.index_config = floats(index_config)

    # -- one trade ------------------------------------------------------------------------------

    def trade(self, signal: int, base: float) -> OptionTrade | int:
        """The trade of the signal on bar `signal` sized from `base`, or why it was skipped
        (`layout.SKIPPED_*`)."""
        arrays, fill = self.arrays, signal + 1
        try:
            contract = choose_contract(
                self.market,
                self.instrument,
                float(arrays.close[signal]),
                int(arrays.ts[fill]),
                ist_day(int(arrays.ts[fill])),
                float(self.bar_vols[fill]),
            )
        except NotFoundError as exc:  # no contract of the rule that day: the signal is skipped
            if len(self.no_contract) < MAX_NOTES:
                self.no_contract.setdefault(str(exc))
            return layout.SKIPPED_NO_CONTRACT
        # The slice [signal, stop) ends on the expiry day: at the open of its first bar from
        # the square-off time, or, when the day has none (daily bars, a short day), at the
        # close of its last bar.
        cut = int(np.searchsorted(arrays.ts, contract.square_off_ns, side="left"))
        on_expiry_day = cut < self.end and arrays.ts[cut] < contract.expiry_ns
        stop = min(cut + 1 if on_expiry_day else cut, self.end)
        square_off = self._square_off_slice(signal, stop, cut if on_expiry_day else self.end)
        premium = self._premium_market(contract, signal, stop)
        strategy = self._strategy(signal, stop, square_off, self.premium_rules)
        record = np.zeros(layout.N_TRADE_FIELDS)
        if self.on_premium:
            outcome = open_position(
                premium, strategy, self.config_vector, self.rates, 0, base, record
            )
            if outcome != layout.OPENED:
                return int(outcome)
            exit_ = exits.find_exit(
                premium, strategy, self.config_vector, self.rates, stop - signal, record
            )
            spot_at_exit = np.nan  # a premium level inside a bar: no one index price
            if exit_.at_open:
                spot_at_exit = float(arrays.open[signal + exit_.bar])
            elif exit_.reason == layout.END_OF_DATA:
                spot_at_exit = float(arrays.close[signal + exit_.bar])
        else:
            found = self._index_exit(contract, signal, stop, square_off, premium, base, record)
            if isinstance(found, int):
                return found
            exit_, spot_at_exit = found
        entry_costs = float(record[layout.T_COSTS])
        close_position(record, exit_, 1.0, self.config_vector, self.rates)
        if exit_.reason == layout.END_OF_DATA and stop < self.end:
            record[layout.T_REASON] = layout.SQUARE_OFF  # the expiry day's last close
        for field in (layout.T_SIGNAL_BAR, layout.T_ENTRY_BAR, layout.T_EXIT_BAR):
            record[field] += signal
        spot = float(arrays.open[fill])
        _, delta, iv = self.market.greeks_at(
            contract.option_type,
            contract.expiry,
            np.array([contract.strike]),
            spot,
            int(arrays.ts[fill]),
            float(self.bar_vols[fill]),
        )
        exit_bar = int(record[layout.T_EXIT_BAR])
        return OptionTrade(
            record=record,
            contract=contract,
            lots=int(record[layout.T_QUANTITY]) // self.lot_size,
            entry_iv=float(iv[0]),
            entry_delta=float(delta[0]),
            spot_at_entry=spot,
            spot_at_exit=spot_at_exit,
            entry_costs=entry_costs,
            premium_closes=premium.close[1 : exit_bar - signal],
        )

    def _index_exit(
        self,
        contract: Contract,
        signal: int,
        stop: int,
        square_off: np.ndarray,
        premium: layout.Market,
        base: float,
        record: np.ndarray,
    ) -> tuple[layout.Exit, float] | int:
        """Open `record` on the premium with the risk the index stop puts on it, and find the
        exit on the index: its bar, reason and the premium where the index left."""
        arrays, fill = self.arrays, signal + 1
        index = kernel_market(arrays, slice(signal, stop))
        index_strategy = self._strategy(signal, stop, square_off, self.index_rules)
        index_record = np.zeros(layout.N_TRADE_FIELDS)
        outcome = open_position(
            index, index_strategy, self.index_config, self.rates, 0, 1.0, index_record
        )
        if outcome != layout.OPENED:
            return int(outcome)
        at_fill = np.array([arrays.ts[fill]] * 2)
        levels = np.array([index_record[layout.T_INITIAL_STOP], index_record[layout.T_TARGET]])
        has_target = not np.isnan(levels[1])
        levels[1] = levels[1] if has_target else levels[0]
        stop_premium, target_premium = self.market.prices(
            contract, levels, at_fill, np.full(2, self.bar_vols[fill])
        )
        price = premium.open[1] + slippage(premium.open[1], self.config_vector)
        offsets = np.zeros((2, stop - signal))
        offsets[0, 0] = price - stop_premium
        offsets[1, 0] = target_premium - price if has_target else np.nan
        rules = self.premium_rules.copy()
        rules[layout.P_STOP_FRACTION] = rules[layout.P_TARGET_FRACTION] = 0.0
        rules[layout.P_TARGET_R] = 0.0
        rules[layout.P_STOP_SCALE] = 1.0
        sizing = layout.Strategy(
            index_strategy.entry,
            floats(offsets[0]),
            floats(offsets[1]),
            index_strategy.trail_offset,
            square_off,
            floats(rules),
        )
        outcome = open_position(premium, sizing, self.fill_config, self.rates, 0, base, record)
        if outcome != layout.OPENED:
            return int(outcome)
        index_exit = exits.find_exit(
            index, index_strategy, self.index_config, self.rates, stop - signal, index_record
        )
        bar = signal + index_exit.bar
        moment = arrays.ts[bar] if index_exit.at_open else self.bar_ends[bar]
        (premium_at_exit,) = self.market.prices(
            contract,
            np.array([index_exit.reference]),
            np.array([moment]),
            np.array([self.bar_vols[bar]]),
        )
        exit_ = layout.Exit(
            index_exit.bar, index_exit.reason, float(premium_at_exit), index_exit.at_open
        )
        return exit_, float(index_exit.reference)

    # -- the arrays of one trade ----------------------------------------------------------------

    def _square_off_slice(self, signal: int, stop: int, cut: int) -> np.ndarray:
        """`exits.square_off_bars` of the slice [signal, stop): the spec's square-off or the
        expiry's cut bar, whichever comes first (`stop - signal`: none inside the slice)."""
        length = stop - signal
        local = np.full(length, length, dtype=np.int64)
        if cut < self.end:
            local[:] = cut - signal
        if self.has_square_off:
            spec = np.minimum(self.square_off[signal:stop] - signal, length)
            local = np.minimum(local, spec)
        return frozen(local, np.int64)

    def _premium_market(self, contract: Contract, first: int, stop: int) -> layout.Market:
        """The contract's premium bars over [first, stop) (module docstring)."""
        arrays, market = self.arrays, self.market
        bars = slice(first, stop)
        vols = self.bar_vols[bars]
        ends = self.bar_ends[bars]
        favourable, adverse = arrays.high[bars], arrays.low[bars]
        if contract.option_type is OptionType.PUT:
            favourable, adverse = adverse, favourable
        spots = np.concatenate([arrays.open[bars], favourable, adverse, arrays.close[bars]])
        moments = np.concatenate([arrays.ts[bars], ends, ends, ends])
        prices = market.prices(contract, spots, moments, np.tile(vols, 4)).reshape(4, -1)
        opening, high, low, close = prices
        high = np.maximum(high, np.maximum(opening, close))
        low = np.minimum(low, np.minimum(opening, close))
        session = frozen(arrays.session[bars], np.int64)
        blocks = floats(exits.bar_blocks(floats(low), floats(high), floats(close), session))
        minute = frozen(arrays.minute_of_session[bars], np.int64)
        return layout.Market(
            floats(opening), floats(high), floats(low), floats(close), session, minute, blocks
        )

    def _strategy(
        self, signal: int, stop: int, square_off: np.ndarray, rules: np.ndarray
    ) -> layout.Strategy:
        signals, bars = self.signals, slice(signal, stop)
        trail = signals.trail_offset[bars] if signals.has_trailing_stop else np.empty(0)
        return layout.Strategy(
            frozen(signals.entry[bars], np.bool_),
            floats(signals.stop_offset[bars]),
            floats(signals.target_offset[bars]),
            floats(trail),
            square_off,
            rules,
        )


def run_option_backtest(
    signals: Signals,
    instrument: OptionInstrument,
    market_data: MarketData,
    config: BacktestConfig,
    cost_table: CostTable,
    option_market: OptionMarket,
    *,
    start: int = 0,
    end: int | None = None,
    keep_equity: bool = True,
) -> BacktestResult:
    """Backtest an option spec's `signals` (compiled on the index's candles) over bars
    `[start, end)`, buying the contracts `instrument` chooses (module docstring). `config`
    must be an options config (`BacktestConfig.for_option`): its lot is the option's."""
    if config.instrument_kind is not InstrumentKind.OPTIONS:
        raise UserError(
            f"an option backtest charges the option rows of the cost table, but its config is "
            f"for {config.instrument_kind.value}: build it with BacktestConfig.for_option"
        )
    arrays = market_arrays(market_data)
    start, end = bar_range(arrays, start, end)
    check_alignment(signals, arrays)
    run = _Run(signals, instrument, arrays, config, cost_table, option_market, end)
    entries = np.flatnonzero(signals.entry[start : end - 1]) + start
    equity = np.empty(end - start)
    trades: list[OptionTrade] = []
    skipped = np.zeros(4, dtype=np.int64)  # by outcome: -, zero lot, invalid stop, no contract
    skipped_after_square_off = taken = 0
    cash = config.capital
    bar = start  # the first bar whose close is flat
    for signal in entries:
        if signal < bar:
            continue  # in a position: ignored
        equity[bar - start : signal - start + 1] = cash
        bar = int(signal) + 1
        taken += 1
        if run.has_square_off and run.square_off[bar] == bar:
            skipped_after_square_off += 1
            continue
        found = run.trade(int(signal), cash if config.compounding else config.capital)
        if isinstance(found, int):
            skipped[found] += 1
            continue
        record = found.record
        exit_bar = int(record[layout.T_EXIT_BAR])
        held = cash - found.entry_costs
        equity[bar - start : exit_bar - start] = held + record[layout.T_QUANTITY] * (
            found.premium_closes - record[layout.T_ENTRY_PRICE]
        )
        cash += record[layout.T_NET]
        trades.append(found)
        bar = exit_bar
    equity[bar - start :] = cash
    stats = np.zeros(layout.N_STATS)
    kernel.equity_book(
        floats(equity), frozen(arrays.session, np.int64), start, config.capital, stats
    )
    stats[layout.K_SKIPPED_ZERO_LOT] = skipped[layout.SKIPPED_ZERO_LOT]
    stats[layout.K_SKIPPED_INVALID_STOP] = skipped[layout.SKIPPED_INVALID_STOP]
    stats[layout.K_SKIPPED_AFTER_SQUARE_OFF] = skipped_after_square_off
    stats[layout.K_SKIPPED_NO_CONTRACT] = skipped[layout.SKIPPED_NO_CONTRACT]
    stats[layout.K_IGNORED_IN_POSITION] = len(entries) - taken
    records = (
        np.vstack([t.record for t in trades]) if trades else np.empty((0, layout.N_TRADE_FIELDS))
    )
    sessions = arrays.session[start:end]
    last_of_session = np.append(np.flatnonzero(np.diff(sessions) != 0), len(sessions) - 1)
    session_equity = equity[last_of_session]
    metrics = metrics_batch(
        records,
        np.zeros(1, dtype=np.int64),
        np.array([len(trades)], dtype=np.int64),
        session_equity[None, :].copy(),
        np.array([cash]),
        config.capital,
        end - start,
        METRIC_COLUMNS,
    )
    return BacktestResult(
        spec_id=signals.spec_id,
        direction=1,
        config=config,
        cost_table_version=cost_table.version if config.apply_costs else "none",
        start=start,
        end=end,
        records=records,
        metric_vector=metrics[0],
        stats=stats,
        timestamps=arrays.ts,
        sessions=arrays.session,
        session_equity=session_equity,
        bar_equity=equity if keep_equity else None,
        legs=_legs(trades),
        notes=tuple(run.no_contract),
    )


def _legs(trades: list[OptionTrade]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "contract": [t.contract.label for t in trades],
            "option_type": [t.contract.option_type.value for t in trades],
            "strike": [t.contract.strike for t in trades],
            "expiry": [t.contract.expiry for t in trades],
            "lots": [t.lots for t in trades],
            "entry_iv": [t.entry_iv for t in trades],
            "entry_delta": [t.entry_delta for t in trades],
            "spot_at_entry": [t.spot_at_entry for t in trades],
            "spot_at_exit": [None if np.isnan(t.spot_at_exit) else t.spot_at_exit for t in trades],
        },
        schema=LEG_SCHEMA,
    )


@dataclass(frozen=True)
class OptionBacktest:
    """How option specs are backtested besides the index's candles: an options `config` (the
    option's lot and tick, the option cost rows) and the model `market`."""

    config: BacktestConfig
    market: OptionMarket

    def run(
        self,
        signals_list: Sequence[Signals],
        instruments: Sequence[OptionInstrument],
        market_data: MarketData,
        cost_table: CostTable,
        *,
        start: int = 0,
        end: int | None = None,
        keep_equity: bool = False,
    ) -> list[BacktestResult]:
        """`run_option_backtest` of each spec (its signals and its instrument) on bars
        [start, end) of the index's candles."""
        arrays = market_arrays(market_data)
        return [
            run_option_backtest(
                signals,
                instrument,
                arrays,
                self.config,
                cost_table,
                self.market,
                start=start,
                end=end,
                keep_equity=keep_equity,
            )
            for signals, instrument in zip(signals_list, instruments, strict=True)
        ]
