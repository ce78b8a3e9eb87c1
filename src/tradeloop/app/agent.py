"""The agent's research session and tool registry, from settings."""

from __future__ import annotations

from tradeloop.agent import ToolRegistry
from tradeloop.app import stores
from tradeloop.app.research import research_context
from tradeloop.settings import Settings
from tradeloop.tools import default_registry
from tradeloop.tools.session import ResearchSession


def research_session(settings: Settings, run_id: str | None = None) -> ResearchSession:
    """The research tools' session on the stores under the data directory.

    Backtests are remembered in strategy memory under `run_id` (the agent run's id); with None,
    as in a replay, nothing is remembered.
    """
    return ResearchSession(research_context(settings), stores.strategy_memory(settings), run_id)


def tool_registry(settings: Settings, run_id: str | None = None) -> ToolRegistry:
    """Every tool available to agent runs under `settings` (see `tradeloop.tools`)."""
    return default_registry(research_session(settings, run_id))
