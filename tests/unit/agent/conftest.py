"""Fixtures of the agent runtime's unit tests; the helpers live in `agent_helpers`."""

from __future__ import annotations

import pytest
from agent_helpers import Calls, NoSleep, make_tools

from tradeloop.agent import ToolRegistry


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def registry(calls: Calls) -> ToolRegistry:
    return ToolRegistry(make_tools(calls))


@pytest.fixture
def no_sleep() -> NoSleep:
    return NoSleep()
