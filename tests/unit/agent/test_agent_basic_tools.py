"""The generic tools of `tradeloop.tools.basic` and the default registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tradeloop.app.agent import tool_registry
from tradeloop.settings import Settings
from tradeloop.tools.basic import echo, finish, make_current_time

MOMENT = datetime(2025, 1, 6, 4, 0, tzinfo=UTC)  # a Monday, 09:30 in India


def test_finish_is_terminal_and_echo_returns_its_text() -> None:
    assert finish.call(finish.Args(summary="ok")).status == "done"
    assert echo.call(echo.Args(text="note")).data == {"text": "note"}


def test_current_time_reads_the_injected_clock_in_the_market_time_zone() -> None:
    current_time = make_current_time(lambda: MOMENT)
    result = current_time.call(current_time.Args())
    assert result.data == {
        "iso": "2025-01-06T09:30:00+05:30",
        "weekday": "Monday",
        "timezone": "Asia/Kolkata",
    }
    assert not current_time.deterministic


def test_current_time_with_an_unknown_zone_is_an_error_result() -> None:
    current_time = make_current_time(lambda: MOMENT)
    result = current_time.call(current_time.Args(timezone="Mars/Olympus"))
    assert result.error is not None and result.error.type == "UnknownTimezone"


def test_default_registry_has_the_generic_tools(tmp_path: Path) -> None:
    registry = tool_registry(Settings(data_dir=tmp_path))
    assert {"finish", "echo", "current_time"} <= set(registry.names)
