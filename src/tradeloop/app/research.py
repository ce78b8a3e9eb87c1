"""The research context: everything the evaluate → backtest → score stages need, from settings.

The research flow, `tradeloop backtest` and the agent's research tools all evaluate through one
`ResearchContext`, so a setting (a cost table, the slippage, the folds, the capital) is in force
on every research path or on none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING

from tradeloop.app import stores
from tradeloop.app.options import option_market
from tradeloop.domain.backtest.config import BacktestConfig
from tradeloop.domain.backtest.options import OptionBacktest
from tradeloop.domain.backtest.scoring import ScoringConfig
from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.calendar import NSECalendar, ist_datetime, to_ist
from tradeloop.domain.market.contracts import ContractFacts, ContractTable
from tradeloop.domain.market.instrument_master import ContractKind
from tradeloop.domain.options.market import OptionMarket
from tradeloop.domain.risk.limits import RiskLimits
from tradeloop.errors import NotFoundError
from tradeloop.settings import Settings

if TYPE_CHECKING:
    import polars as pl

    from tradeloop.domain.backtest.gate import GateCard, TrialStats
    from tradeloop.domain.research import Evaluation
    from tradeloop.domain.strategy.spec import StrategySpec
    from tradeloop.storage.candles import CandleStore


@dataclass(frozen=True)
class ResearchContext:
    """How strategies are evaluated, and where their candles come from.

    Attributes:
        risk: capital, risk per trade and the notional cap that size backtest trades.
        slippage_bps: slippage against the taker on every backtest fill.
        scoring: folds, the score's weights and the gates.
        costs: the charges of every fill.
        calendar: the NSE sessions.
        candles: the store the 1m candles are read from.
        contracts: the lot and tick of each index future and option, by day (the instrument
            master).
        option_market: the option model of a symbol from a day (`app.options.option_market`):
            what option specs are priced with.
    """

    risk: RiskLimits
    slippage_bps: float
    scoring: ScoringConfig
    costs: CostTable
    calendar: NSECalendar
    candles: CandleStore
    contracts: ContractTable
    option_market: Callable[[str, date], OptionMarket]

    def backtest_config(
        self,
        symbol: str,
        first_day: date,
        lot_size: int | None = None,
        tick_size: float | None = None,
    ) -> BacktestConfig:
        """The backtest config of `symbol` from the risk and slippage settings, with the lot and
        tick of its future on `first_day`, the backtest's first session: a backtest that spans
        a lot revision keeps that lot throughout (the config stored with it says which).
        `lot_size` and `tick_size`, when given, win over the contract table (see
        `contract_facts`)."""
        return BacktestConfig.for_symbol(
            symbol,
            self.contract_facts(symbol, first_day, lot_size, tick_size),
            capital=self.risk.capital,
            risk_per_trade_pct=self.risk.risk_per_trade_pct,
            slippage_bps=self.slippage_bps,
            max_notional_pct=self.risk.max_capital_per_trade_pct,
        )

    def option_backtest(
        self,
        symbol: str,
        first_day: date,
        lot_size: int | None = None,
        tick_size: float | None = None,
    ) -> OptionBacktest:
        """How `symbol`'s option specs are backtested: an options config sized like
        `backtest_config`, with the lot and tick of its options on `first_day` (or the user's),
        and the option model."""
        facts = self.contract_facts(symbol, first_day, lot_size, tick_size, kind=ContractKind.CE)
        config = BacktestConfig.for_option(
            symbol,
            facts,
            capital=self.risk.capital,
            risk_per_trade_pct=self.risk.risk_per_trade_pct,
            slippage_bps=self.slippage_bps,
            max_notional_pct=self.risk.max_capital_per_trade_pct,
        )
        return OptionBacktest(config, self.option_market(symbol, first_day))

    def options_for(
        self, specs: Sequence[StrategySpec], candles: pl.DataFrame
    ) -> OptionBacktest | None:
        """`option_backtest` of the candles' first session when any of `specs` buys options."""
        if not any(spec.instrument.kind == "option" for spec in specs):
            return None
        return self.option_backtest(specs[0].symbol, first_session(candles))

    def contract_facts(
        self,
        symbol: str,
        day: date,
        lot_size: int | None = None,
        tick_size: float | None = None,
        *,
        kind: ContractKind = ContractKind.FUT,
    ) -> ContractFacts:
        """The lot and tick of `symbol`'s future (or `kind`) on `day` from the contract table,
        with the user's `lot_size` (units) and `tick_size` (rupees) winning over it. With both
        given the table is not asked, so a day it does not cover (before its first row) can be
        tested."""
        given = "given with " + " and ".join(
            option
            for option, value in (("--lot-size", lot_size), ("--tick-size", tick_size))
            if value is not None
        )
        if lot_size is not None and tick_size is not None:
            return ContractFacts(symbol.strip().upper(), kind, lot_size, tick_size, given)
        facts = self.contracts.facts(symbol, kind, day)
        if lot_size is None and tick_size is None:
            return facts
        return replace(
            facts,
            lot_size=facts.lot_size if lot_size is None else lot_size,
            tick_size=facts.tick_size if tick_size is None else tick_size,
            source=f"{given}; the rest from the {facts.source}",
        )

    def minute_candles(self, symbol: str, first: date | None, last: date | None) -> pl.DataFrame:
        """1m candles of `symbol` over the IST sessions `first` to `last`, both inclusive."""
        return self.candles.load(symbol, "1m", *_bounds(first, last))

    def research_candles(self, symbol: str, first: date | None, last: date | None) -> pl.DataFrame:
        """`minute_candles`, without the lockbox: the last `lockbox_fraction` of the sessions
        stored for `symbol` are held out for the significance gate, whatever window is asked
        for. What generation and ranking outside a research run (the agent's tools) may see."""
        import polars as pl

        from tradeloop.domain.research import split_lockbox

        lockbox = split_lockbox(
            self.minute_candles(symbol, None, None), self.scoring.lockbox_fraction
        )
        start, end = _bounds(first, last)  # the window, cut from what was read once
        research = lockbox.research
        if start is not None:
            research = research.filter(pl.col("ts") >= start)
        if end is not None:
            research = research.filter(pl.col("ts") < end)
        return research

    def gate(
        self,
        specs: Sequence[StrategySpec],
        candles: pl.DataFrame,
        lockbox_start: datetime,
        trials: Mapping[str, TrialStats],
    ) -> list[GateCard]:
        """The significance gate of `specs` (all on the candles' symbol) on the lockbox from
        `lockbox_start`; `trials` maps each timeframe to the strategies tried on it."""
        from tradeloop.domain.research import gate_specs

        if not specs:
            return []
        return gate_specs(
            specs,
            candles,
            lockbox_start,
            self.backtest_config(specs[0].symbol, to_ist(lockbox_start).date()),
            self.costs,
            self.scoring,
            trials,
            self.options_for(specs, candles),
        )

    def context_key(self, symbol: str, candles: pl.DataFrame, folds: int | None = None) -> str:
        """The digest of what, besides the spec, decides an evaluation of `symbol` on
        `candles` with `folds` (see `tradeloop.domain.research.evaluation_context_key`)."""
        from tradeloop.domain.research import evaluation_context_key

        first_day = first_session(candles)
        try:
            options = self.option_backtest(symbol, first_day)
        except NotFoundError:
            options = None  # no IV stored: option specs cannot be evaluated in this context
        return evaluation_context_key(
            candles,
            self.backtest_config(symbol, first_day),
            self.scoring,
            self.costs,
            folds=folds or self.scoring.walk_forward_folds,
            options=options,
        )

    def evaluate(
        self, specs: Sequence[StrategySpec], candles: pl.DataFrame, folds: int | None = None
    ) -> list[Evaluation]:
        """Walk `specs` (all on the candles' symbol) forward and score them.

        `folds` overrides `[strategy] walk_forward_folds` for this call.
        """
        from tradeloop.domain.research import evaluate_specs

        if not specs:
            return []
        return evaluate_specs(
            specs,
            candles,
            self.backtest_config(specs[0].symbol, first_session(candles)),
            self.scoring,
            self.costs,
            folds=folds or self.scoring.walk_forward_folds,
            options=self.options_for(specs, candles),
        )


def first_session(candles: pl.DataFrame) -> date:
    """The IST day of the first of `candles` (the day a backtest's lot is taken on)."""
    if candles.height == 0:
        raise NotFoundError("no candles to backtest: the window holds no bars")
    return to_ist(candles["ts"][0]).date()


def _bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The UTC instants that bound the IST sessions `first` to `last` (end exclusive)."""
    start = ist_datetime(first, time(0, 0)) if first else None
    end = ist_datetime(last + timedelta(days=1), time(0, 0)) if last else None
    return start, end


def research_context(settings: Settings) -> ResearchContext:
    """The research context of `settings`, on the stores under its data directory."""
    candles = stores.candle_store(settings)
    return ResearchContext(
        risk=settings.risk,
        slippage_bps=settings.execution.slippage_bps,
        scoring=settings.strategy,
        costs=stores.cost_table(settings),
        calendar=candles.calendar,
        candles=candles,
        contracts=stores.contract_table(settings),
        option_market=partial(option_market, settings),
    )
