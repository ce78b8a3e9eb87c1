"""The tools the agent may call: the one place where `agent/` meets the domain and storage.

`default_registry(settings)` is the registry the CLI and flows use. Trading tools register here
as they are built; each is a thin `Tool` over a domain service.
"""

from __future__ import annotations

from tradeloop.agent import ToolRegistry
from tradeloop.settings import Settings
from tradeloop.tools.basic import basic_tools


def default_registry(settings: Settings) -> ToolRegistry:
    """Every tool available to runs under `settings`."""
    del settings  # the generic tools need none; trading tools will read limits and paths
    return ToolRegistry(basic_tools())


__all__ = ["default_registry"]
