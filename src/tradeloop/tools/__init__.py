"""The tools the agent may call: the one place where `agent/` meets the domain and storage.

`default_registry(settings)` is the registry the CLI and flows use: the generic tools
(`finish`, `echo`, `current_time`) and the research tools (indicators, the spec format,
validate, backtest, strategy memory). No tool here can place an order.
"""

from __future__ import annotations

from tradeloop.agent import ToolRegistry
from tradeloop.settings import Settings
from tradeloop.tools.basic import basic_tools
from tradeloop.tools.research import research_tools
from tradeloop.tools.session import ResearchSession


def default_registry(
    settings: Settings,
    *,
    run_id: str | None = None,
    session: ResearchSession | None = None,
) -> ToolRegistry:
    """Every tool available to runs under `settings`.

    Backtests are remembered in strategy memory under `run_id` (pass the agent run's id); with
    None, as in a replay, nothing is remembered. `session` replaces the stores under the data
    directory (an in-memory candle store in tests, say).
    """
    if session is not None and run_id is not None and session.run_id != run_id:
        raise ValueError(
            f"run_id {run_id!r} differs from the session's {session.run_id!r}: pass one of them"
        )
    research = session or ResearchSession.from_settings(settings, run_id=run_id)
    return ToolRegistry([*basic_tools(), *research_tools(research)])


__all__ = ["ResearchSession", "default_registry"]
