"""The stores, the cost table and the calendar of a `Settings`, each under the data directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradeloop.domain.costs import CostTable
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.plausibility_rules import PlausibilityRules
from tradeloop.settings import Settings

if TYPE_CHECKING:
    # Imported where used: `tradeloop --help` must not pay for DuckDB, polars or SQLAlchemy.
    from tradeloop.domain.market.contracts import ContractTable
    from tradeloop.domain.market.instrument_master import InstrumentMaster
    from tradeloop.domain.options.expiries import ExpiryCalendar
    from tradeloop.storage.backtests import BacktestArchive
    from tradeloop.storage.candles import ParquetCandleStore
    from tradeloop.storage.deployments import SqlDeploymentStore
    from tradeloop.storage.instruments import InstrumentStore
    from tradeloop.storage.ledger import Ledger
    from tradeloop.storage.memory import ParquetStrategyMemory
    from tradeloop.storage.session_progress import SqlSessionProgress
    from tradeloop.storage.volatility import VolatilityStore


def calendar(settings: Settings) -> NSECalendar:
    """The NSE calendar: the bundled holidays plus `[market] holidays_file`."""
    return NSECalendar.default(settings.market.holidays_file)


def expiry_calendar(settings: Settings) -> ExpiryCalendar:
    """NSE index option expiries: the bundled rule table on the calendar of `calendar()`."""
    from tradeloop.domain.options.expiries import ExpiryCalendar, bundled_expiry_rules

    return ExpiryCalendar(bundled_expiry_rules(), calendar(settings))


def cost_table(settings: Settings) -> CostTable:
    """The charges of every backtest, paper and live fill: `[execution] costs_table`, or the
    newest bundled table (the rates in force now) when none is set."""
    path = settings.execution.costs_table
    return CostTable.bundled() if path is None else CostTable.load(path)


def candle_store(settings: Settings) -> ParquetCandleStore:
    from tradeloop.storage.candles import ParquetCandleStore

    return ParquetCandleStore(settings.candles_dir, calendar(settings))


def backtest_archive(settings: Settings) -> BacktestArchive:
    """The backtests `tradeloop backtest` saved, under `backtests_dir`."""
    from tradeloop.storage.backtests import BacktestArchive

    return BacktestArchive(settings.backtests_dir)


def volatility_store(settings: Settings) -> VolatilityStore:
    from tradeloop.storage.volatility import VolatilityStore

    return VolatilityStore(settings.volatility_dir)


def strategy_memory(settings: Settings) -> ParquetStrategyMemory:
    from tradeloop.storage.memory import ParquetStrategyMemory

    return ParquetStrategyMemory(settings.memory_dir)


def instrument_store(settings: Settings) -> InstrumentStore:
    """The table `tradeloop instruments load` writes, under `<data_dir>/instruments`."""
    from tradeloop.storage.instruments import InstrumentStore

    return InstrumentStore(settings.data_dir / "instruments")


def instrument_master(settings: Settings) -> InstrumentMaster:
    """Lot sizes, tick sizes and security ids: the stored Dhan scrip master, or the bundled
    sample (its `source` says which) when none was loaded yet."""
    from tradeloop.storage.instruments import bundled_master

    stored = instrument_store(settings).load()
    return stored if stored is not None else bundled_master()


def contract_table(settings: Settings) -> ContractTable:
    """Lot and tick of every index future and option, by day: the instrument master (above)
    from its `as_of` on, the bundled lot revision table for the days before it. The one table
    the backtests, the risk check, the position manager and the paper broker read."""
    from tradeloop.domain.market.contracts import ContractTable, bundled_revisions

    return ContractTable(instrument_master(settings), bundled_revisions())


def ledger(settings: Settings) -> Ledger:
    """The ledger at `database_url` (SQLite under the data dir by default)."""
    from tradeloop.storage.ledger import open_ledger

    return open_ledger(settings.ledger_url)


def deployment_store(settings: Settings) -> SqlDeploymentStore:
    """The deployments, in the ledger's database (`database_url`)."""
    from tradeloop.storage.deployments import open_deployment_store

    return open_deployment_store(settings.ledger_url)


def session_progress(settings: Settings) -> SqlSessionProgress:
    """How far each trading day has been processed, in the ledger's database."""
    from tradeloop.storage.session_progress import open_session_progress

    return open_session_progress(settings.ledger_url)


def plausibility_rules(
    settings: Settings, max_move_fraction: float | None, allow_future: bool
) -> PlausibilityRules:
    """`[plausibility]` of the settings with what one import or fetch relaxed: a `max_move_fraction`
    replaces the setting's, `allow_future` can only switch the future rule off."""
    update: dict[str, object] = {}
    if max_move_fraction is not None:
        update["max_move_fraction"] = max_move_fraction
    if allow_future:
        update["allow_future"] = True
    return PlausibilityRules.model_validate({**settings.plausibility.model_dump(), **update})
