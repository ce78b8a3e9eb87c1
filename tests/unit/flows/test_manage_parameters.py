"""The manage flow's parameters: a replayed day needs its date; a live session is today's and
runs without the agent."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from tradeloop.app.day_agent import DayAgentConfig
from tradeloop.flows.manage import ManageParameters


def test_a_live_session_defaults_to_today_and_a_replay_names_its_day() -> None:
    assert ManageParameters(source="live").day is None
    assert ManageParameters(day=date(2025, 3, 4), source="store").day == date(2025, 3, 4)
    with pytest.raises(ValidationError, match="day is needed to replay a stored day"):
        ManageParameters(source="feed")


def test_the_agent_takes_part_in_replayed_days_only() -> None:
    agent = DayAgentConfig(planner="ollama")
    assert ManageParameters(day=date(2025, 3, 4), agent=agent).agent == agent
    with pytest.raises(ValidationError, match="agent's turns read the day's stored minutes"):
        ManageParameters(source="live", agent=agent)
