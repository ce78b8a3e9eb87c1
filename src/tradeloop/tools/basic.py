"""Generic tools every run has: finish the run, echo a note, read the clock.

They touch no domain code; the trading tools are added beside them by `default_registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradeloop.agent import FunctionTool, ToolResult, tool

MARKET_TIMEZONE = "Asia/Kolkata"


@tool(terminal=True, timeout_seconds=None)
def finish(summary: str, best_spec_id: str | None = None) -> ToolResult:
    """Finish the run. Call this once the goal is reached, or when it cannot be reached.

    Args:
        summary: What was done and found, in a few sentences; say why if the goal was not met.
        best_spec_id: The id of the best strategy found, when the goal was to find one.
    """
    if best_spec_id is None:
        return ToolResult.done({"summary": summary})
    return ToolResult.done({"summary": summary, "best_spec_id": best_spec_id})


@tool(timeout_seconds=None)
def echo(text: str) -> ToolResult:
    """Return the text unchanged. Use it to note an intermediate conclusion in the history.

    Args:
        text: The text to record.
    """
    return ToolResult.ok({"text": text})


def make_current_time(now: Callable[[], datetime] | None = None) -> FunctionTool:
    """A `current_time` tool reading `now` (the system clock by default)."""
    clock = now or (lambda: datetime.now(UTC))

    @tool(deterministic=False, timeout_seconds=None)
    def current_time(timezone: str = MARKET_TIMEZONE) -> ToolResult:
        """The current date and time, with the weekday, in a time zone.

        Args:
            timezone: An IANA time zone name such as "Asia/Kolkata" (the market's) or "UTC".
        """
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ToolResult.failure(
                "UnknownTimezone",
                f"'{timezone}' is not an IANA time zone name; use e.g. 'Asia/Kolkata' or 'UTC'",
            )
        moment = clock().astimezone(zone)
        return ToolResult.ok(
            {"iso": moment.isoformat(), "weekday": moment.strftime("%A"), "timezone": timezone}
        )

    return current_time


def basic_tools(now: Callable[[], datetime] | None = None) -> list[FunctionTool]:
    """`finish`, `echo` and `current_time` (with `now` as its clock)."""
    return [finish, echo, make_current_time(now)]
