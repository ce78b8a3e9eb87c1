"""The tools the agent may call: the one place where `agent/` meets the domain and storage.

`default_registry(session)` is the registry the CLI and flows use: the generic tools
(`finish`, `refuse`, `echo`, `current_time`), the research tools (indicators, the spec format,
validate, backtest, strategy memory) and a model option chain. No tool in it can place an
order; `UNAVAILABLE` names what a goal may ask that none of them does, so the planner points
the model at `refuse`.

`trading_registry(desk)` is a separate registry: the generic tools and the order tools of
`tradeloop.tools.trading` (place_order, exit_position, modify_stop, positions,
market_snapshot), behind the risk manager.
"""

from __future__ import annotations

from tradeloop.agent import ToolRegistry
from tradeloop.agent.builtin_tools import builtin_tools
from tradeloop.domain.market.calendar import IST
from tradeloop.tools.options import make_fetch_option_chain
from tradeloop.tools.research import research_tools
from tradeloop.tools.session import ResearchSession
from tradeloop.tools.spec_grammar import narrow_spec_definitions
from tradeloop.tools.trading import TradingDesk, trading_tools

_NO_ORDERS = "no research tool places, changes or cancels an order (the trading commands do)"
_NO_DEPLOY = "no research tool deploys a strategy or talks to the broker"
_NO_DELETE = "no tool deletes or edits remembered strategies"
_NO_SETTINGS = "no tool changes settings or risk limits (they are the user's, in the config)"

UNAVAILABLE: dict[str, str] = {
    "delete": _NO_DELETE,
    "remove": _NO_DELETE,
    "erase": _NO_DELETE,
    "forget": _NO_DELETE,
    "order": _NO_ORDERS,
    "cancel": _NO_ORDERS,
    "deploy": _NO_DEPLOY,
    "broker": _NO_DEPLOY,
    "paper trading": _NO_DEPLOY,
    "live trading": _NO_DEPLOY,
    "go live": _NO_DEPLOY,
    "risk limit": _NO_SETTINGS,
    "setting": _NO_SETTINGS,
}
"""Words and phrases (matched on whole words, plurals too) of requests outside research."""


def default_registry(session: ResearchSession) -> ToolRegistry:
    """Every tool available to a run: the generic tools and the research tools on `session`.

    Build the session with `tradeloop.app.agent.research_session(settings, run_id)`.
    """
    return ToolRegistry(
        [
            *builtin_tools(default_timezone=IST.key),
            *research_tools(session),
            make_fetch_option_chain(session),
        ],
        unavailable=UNAVAILABLE,
        narrow=narrow_spec_definitions,
    )


def trading_registry(desk: TradingDesk) -> ToolRegistry:
    """The generic tools and the trading tools on `desk`: orders for deployed strategies, behind
    the risk manager (`tradeloop.tools.trading`). Not the research agent's registry.

    Build the desk with `tradeloop.app.agent_trading.trading_desk(settings)`.
    """
    return ToolRegistry([*builtin_tools(default_timezone=IST.key), *trading_tools(desk)])


__all__ = ["ResearchSession", "TradingDesk", "default_registry", "trading_registry"]
