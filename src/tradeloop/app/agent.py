"""The agent's research session, tool registry and Ollama planner, from settings."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from tradeloop.agent import ToolRegistry
from tradeloop.app import stores
from tradeloop.app.options import chain_at
from tradeloop.app.research import research_context
from tradeloop.settings import Settings
from tradeloop.tools import default_registry
from tradeloop.tools.session import ResearchSession

if TYPE_CHECKING:
    from tradeloop.adapters.ollama_planner import OllamaPlanner


def research_session(settings: Settings, run_id: str | None = None) -> ResearchSession:
    """The research tools' session on the stores under the data directory.

    Backtests are remembered in strategy memory under `run_id` (the agent run's id); with None,
    as in a replay, nothing is remembered.
    """
    return ResearchSession(
        research_context(settings),
        stores.strategy_memory(settings),
        run_id,
        option_chain=partial(chain_at, settings),
    )


def tool_registry(settings: Settings, run_id: str | None = None) -> ToolRegistry:
    """Every tool available to agent runs under `settings` (see `tradeloop.tools`)."""
    return default_registry(research_session(settings, run_id))


def ollama_planner(settings: Settings, registry: ToolRegistry) -> OllamaPlanner:
    """The Ollama planner from the `ollama_*` settings (host, model, context size, timeout).

    Call its `check_model()` before a run: it fails with the fix when the server or the model
    is missing.
    """
    # Imported here: the rule-based default never loads the Ollama client.
    from tradeloop.adapters.ollama_planner import OllamaPlanner

    return OllamaPlanner(
        registry,
        model=settings.ollama_model,
        host=settings.ollama_host,
        num_ctx=settings.ollama_num_ctx,
        timeout_seconds=settings.ollama_timeout_s,
    )
