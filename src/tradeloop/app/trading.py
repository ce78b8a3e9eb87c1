"""The order path from settings: the live switches, broker (paper or Dhan), ledger, risk
manager, gateway and position manager.

The live broker is only built after the mode guard passed: with any live switch missing, no
Dhan object (and no connection) is ever made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr

from tradeloop.app import stores
from tradeloop.clock import Clock, SystemClock
from tradeloop.domain.execution.gateway import OrderGateway
from tradeloop.domain.execution.mode import ModeGuard, ModeReport, Switch, TradingMode
from tradeloop.domain.execution.orders import Broker
from tradeloop.domain.execution.paper import PaperBroker, PaperConfig
from tradeloop.domain.execution.paper_book import PaperBookStore
from tradeloop.domain.market.calendar import NSECalendar
from tradeloop.domain.market.contracts import ContractTable
from tradeloop.domain.positions.manager import PositionManager
from tradeloop.domain.positions.model import ExitPlan
from tradeloop.domain.positions.stops import RoundTripCosts
from tradeloop.domain.risk.manager import RiskManager
from tradeloop.errors import ConfigError
from tradeloop.settings import ENV_PREFIX, LIVE_CONFIRM_PHRASE, Settings

if TYPE_CHECKING:
    from tradeloop.adapters.dhan.broker import DhanBroker
    from tradeloop.adapters.ratelimit import RateLimiter
    from tradeloop.storage.ledger import Ledger


def live_mode_report(settings: Settings) -> ModeReport:
    """Check the live switches in `settings` (reads no secret beyond "is it set")."""
    token = settings.dhan_access_token
    token_set = token is not None and bool(token.get_secret_value().strip())
    client_set = bool((settings.dhan_client_id or "").strip())
    confirm = settings.live_confirm
    if confirm == LIVE_CONFIRM_PHRASE:
        confirm_state = "set"
    elif confirm:
        confirm_state = "set to a different value"
    else:
        confirm_state = "missing"
    switches = (
        Switch(
            variable=f"{ENV_PREFIX}TRADING_MODE",
            ok=settings.trading_mode == "live",
            state=settings.trading_mode,
            fix="set it to 'live'",
        ),
        Switch(
            variable=f"{ENV_PREFIX}DHAN_CLIENT_ID",
            ok=client_set,
            state="set" if client_set else "missing",
            fix="set it to your Dhan client id",
        ),
        Switch(
            variable=f"{ENV_PREFIX}DHAN_ACCESS_TOKEN",
            ok=token_set,
            state="set" if token_set else "missing",
            fix="set it to a Dhan access token",
        ),
        Switch(
            variable=f"{ENV_PREFIX}LIVE_CONFIRM",
            ok=confirm_state == "set",
            state=confirm_state,
            fix=f"set it to exactly '{LIVE_CONFIRM_PHRASE}'",
        ),
    )
    return ModeReport(requested=TradingMode(settings.trading_mode), switches=switches)


def mode_guard(settings: Settings) -> ModeGuard:
    """The guard in front of every path that could reach a real broker."""
    return ModeGuard(live_mode_report(settings))


def paper_config(settings: Settings) -> PaperConfig:
    return PaperConfig(capital=settings.risk.capital, slippage_bps=settings.execution.slippage_bps)


def broker_for(
    settings: Settings,
    book: PaperBookStore | None = None,
    clock: Clock | None = None,
    contracts: ContractTable | None = None,
) -> Broker:
    """Paper broker (default) or, when every live switch is on, the Dhan broker.

    The paper broker reads its ticks from `contracts`, by default the settings' contract table.

    `TRADELOOP_TRADING_MODE=live` with a switch missing raises `TradingRefusedError` naming it:
    asking for live and silently getting paper would be worse than stopping.
    """
    guard = mode_guard(settings)
    if guard.report.requested is TradingMode.PAPER:
        return PaperBroker(
            book if book is not None else stores.ledger(settings),
            stores.cost_table(settings),
            paper_config(settings),
            clock or SystemClock(),
            contracts if contracts is not None else stores.contract_table(settings),
        )
    guard.require_live()
    return dhan_broker(settings)


def dhan_broker(settings: Settings, *, rate_limiter: RateLimiter | None = None) -> DhanBroker:
    """A `DhanBroker` for the configured account; `ConfigError` naming what is missing.

    This does not check the live-trading switches (`broker_for` and the gateway do); it only
    refuses to build a broker without credentials. Its fills are charged from the cost table.
    Every broker of one account, in every process, counts its calls in one rate-limit file under
    the data directory (`dhan_rate_limiter`); `rate_limiter` replaces it (tests).
    """
    # Imported here: paper trading never loads the Dhan SDK.
    from tradeloop.adapters.dhan.broker import DhanBroker

    client_id, token = dhan_credentials(settings, "the Dhan broker")
    return DhanBroker(
        client_id,
        token,
        cost_table=stores.cost_table(settings),
        base_url=settings.dhan_base_url,
        rate_limiter=rate_limiter or dhan_rate_limiter(settings, client_id),
    )


def dhan_credentials(
    settings: Settings, needed_by: str, hint: str | None = None
) -> tuple[str, SecretStr]:
    """The Dhan client id and access token, or a `ConfigError` naming each missing variable
    (and ending with `hint`, in parentheses, when given)."""
    missing = []
    client_id = (settings.dhan_client_id or "").strip()
    if not client_id:
        missing.append(f"{ENV_PREFIX}DHAN_CLIENT_ID (your Dhan client id)")
    token = settings.dhan_access_token
    if token is None or not token.get_secret_value().strip():
        missing.append(f"{ENV_PREFIX}DHAN_ACCESS_TOKEN (an access token from web.dhan.co)")
    if missing or token is None:
        raise ConfigError(
            f"{needed_by} needs credentials; set "
            + " and ".join(missing)
            + " in the environment or .env"
            + (f" ({hint})" if hint else "")
        )
    return client_id, token


def dhan_rate_limiter(settings: Settings, client_id: str) -> RateLimiter:
    """The account's one limiter: a SQLite file under the data directory that every process
    calling Dhan for `client_id` (orders, reads, history) counts in."""
    from tradeloop.adapters.ratelimit import SqliteRateLimiter

    return SqliteRateLimiter(settings.data_dir / "dhan-rate-limits.sqlite", account=client_id)


@dataclass(frozen=True)
class TradingStack:
    """Everything the order path needs, built from one `Settings`."""

    settings: Settings
    ledger: Ledger
    broker: Broker
    risk: RiskManager
    guard: ModeGuard
    gateway: OrderGateway
    positions: PositionManager
    calendar: NSECalendar
    clock: Clock

    @property
    def mode(self) -> TradingMode:
        return self.guard.mode


def trading_stack(
    settings: Settings, *, clock: Clock | None = None, ledger: Ledger | None = None
) -> TradingStack:
    """The ledger, broker, risk manager and gateway for `settings` (guard checked first)."""
    clock = clock or SystemClock()
    ledger = ledger or stores.ledger(settings)
    contracts = stores.contract_table(settings)
    broker = broker_for(settings, book=ledger, clock=clock, contracts=contracts)
    return _assemble(settings, ledger, broker, clock, contracts, paper_config(settings))


def paper_stack(
    settings: Settings,
    ledger: Ledger,
    clock: Clock,
    *,
    paper: PaperConfig | None = None,
    broker_class: type[PaperBroker] = PaperBroker,
) -> TradingStack:
    """A paper trading stack on `ledger` whatever the mode settings say (replays, tests).

    `broker_class` may name a `PaperBroker` subclass (a variant matching engine).
    """
    contracts = stores.contract_table(settings)
    fills = paper or paper_config(settings)
    broker = broker_class(ledger, stores.cost_table(settings), fills, clock, contracts)
    return _assemble(settings, ledger, broker, clock, contracts, fills)


def _assemble(
    settings: Settings,
    ledger: Ledger,
    broker: Broker,
    clock: Clock,
    contracts: ContractTable,
    fills: PaperConfig,
) -> TradingStack:
    """`fills`: the charges kind and slippage a break-even stop covers (the paper broker's
    fill rules; live, the same assumption the backtest makes)."""
    guard = mode_guard(settings)
    calendar = stores.calendar(settings)
    risk = RiskManager(
        settings.risk,
        calendar,
        ledger,
        contracts,
        require_target=not broker.protects_without_target,
    )
    gateway = OrderGateway(broker, ledger, risk, guard, clock)
    positions = PositionManager(
        gateway,
        ledger,
        ledger,
        clock,
        square_off_time=settings.execution.square_off_time,
        default_plan=ExitPlan(break_even_r=settings.execution.break_even_after_r),
        round_trip=RoundTripCosts(
            stores.cost_table(settings),
            fills.instrument_kind,
            fills.slippage_bps,
            fills.slippage_ticks,
        ),
    )
    return TradingStack(settings, ledger, broker, risk, guard, gateway, positions, calendar, clock)
