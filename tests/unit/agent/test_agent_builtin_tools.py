"""The tools of `tradeloop.agent.builtin_tools`, and the default registry that carries them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradeloop.agent.builtin_tools import builtin_tools, echo, finish, make_current_time
from tradeloop.app.agent import tool_registry
from tradeloop.settings import Settings

MOMENT = datetime(2025, 1, 6, 4, 0, tzinfo=UTC)  # a Monday, 09:30 in India


def test_finish_is_terminal_and_echo_returns_its_text() -> None:
    assert finish.call(finish.Args(summary="ok")).status == "done"
    assert echo.call(echo.Args(text="note")).data == {"text": "note"}


def test_current_time_reads_the_injected_clock_in_utc_by_default() -> None:
    current_time = make_current_time(lambda: MOMENT)
    result = current_time.call(current_time.Args())
    assert result.data == {
        "iso": "2025-01-06T04:00:00+00:00",
        "weekday": "Monday",
        "timezone": "UTC",
    }
    assert not current_time.deterministic


def test_current_time_answers_in_the_default_time_zone_it_was_given() -> None:
    current_time = make_current_time(lambda: MOMENT, default_timezone="Asia/Kolkata")
    assert current_time.call(current_time.Args()).data == {
        "iso": "2025-01-06T09:30:00+05:30",
        "weekday": "Monday",
        "timezone": "Asia/Kolkata",
    }


@pytest.mark.parametrize("zone", ["Mars/Olympus", "America", "../etc/passwd", ""])
def test_current_time_with_a_name_that_is_not_a_zone_is_an_error_result(zone: str) -> None:
    current_time = make_current_time(lambda: MOMENT)
    result = current_time.call(current_time.Args(timezone=zone))
    assert result.error is not None and result.error.type == "UnknownTimezone"


def test_a_default_time_zone_that_does_not_exist_is_refused_when_the_tool_is_built() -> None:
    with pytest.raises(Exception, match="Mars"):
        builtin_tools(default_timezone="Mars/Olympus")


def test_default_registry_has_the_builtin_tools_on_the_market_clock(tmp_path: Path) -> None:
    registry = tool_registry(Settings(data_dir=tmp_path))
    assert {"finish", "refuse", "echo", "current_time"} <= set(registry.names)
    arguments = registry.get("current_time").Args()
    assert arguments.model_dump() == {"timezone": "Asia/Kolkata"}
