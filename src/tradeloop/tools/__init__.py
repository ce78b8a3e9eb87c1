"""The tools the agent may call: the one place where `agent/` meets the domain and storage.

`default_registry(session)` is the registry the CLI and flows use: the generic tools
(`finish`, `echo`, `current_time`) and the research tools (indicators, the spec format,
validate, backtest, strategy memory). No tool here can place an order.
"""

from __future__ import annotations

from tradeloop.agent import ToolRegistry
from tradeloop.agent.builtin_tools import builtin_tools
from tradeloop.domain.market.calendar import IST
from tradeloop.tools.research import research_tools
from tradeloop.tools.session import ResearchSession


def default_registry(session: ResearchSession) -> ToolRegistry:
    """Every tool available to a run: the generic tools and the research tools on `session`.

    Build the session with `tradeloop.app.agent.research_session(settings, run_id)`.
    """
    return ToolRegistry([*builtin_tools(default_timezone=IST.key), *research_tools(session)])


__all__ = ["ResearchSession", "default_registry"]
