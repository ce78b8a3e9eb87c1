"""The tools any agent may be given, whatever its job: finish the run, refuse what no tool can
do, note a conclusion, read the clock. `tradeloop.tools` adds the trading tools beside them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from tradeloop.agent.seen_values import from_results
from tradeloop.agent.tool import FunctionTool, ToolResult, tool

DEFAULT_TIMEZONE = "UTC"
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
"""An id is one token (a small model once wrote a list of indicators as `best_spec_id`)."""


@tool(terminal=True, timeout_seconds=None)
def finish(
    summary: Annotated[str, Field(min_length=1)],
    best_spec_id: Annotated[
        str | None,
        Field(max_length=64, pattern=ID_PATTERN, json_schema_extra=from_results("spec_id")),
    ] = None,
) -> ToolResult:
    """Finish the run. Call this once the goal is reached, or when it cannot be reached.

    Args:
        summary: What the tools found.
        best_spec_id: A spec_id from the results, if the goal was to find a strategy.
    """
    if best_spec_id is None:
        return ToolResult.done({"summary": summary})
    return ToolResult.done({"summary": summary, "best_spec_id": best_spec_id})


@tool(terminal=True, timeout_seconds=None)
def refuse(request: str, reason: str) -> ToolResult:
    """Refuse a request no tool can do, such as deleting remembered strategies, placing a live
    order or deploying a strategy. The run ends with the refusal, which is shown to the user.

    Args:
        request: What the goal asked that no tool does, in the goal's own words.
        reason: Why no tool does it (the step message names the reason when it knows it).
    """
    message = (
        f"Cannot {request.strip().rstrip('.')}: {reason.strip().rstrip('.')}. This agent acts "
        "only through its tools, and none of them does this; nothing was done for this request."
    )
    return ToolResult.done({"summary": message, "refused": request})


@tool(timeout_seconds=None, max_calls=2)
def echo(text: str) -> ToolResult:
    """Return the text unchanged. Use it to note an intermediate conclusion in the history.

    Args:
        text: The text to record.
    """
    return ToolResult.ok({"text": text})


def make_current_time(
    now: Callable[[], datetime] | None = None, *, default_timezone: str = DEFAULT_TIMEZONE
) -> FunctionTool:
    """A `current_time` tool reading `now` (the system clock by default); without an argument
    it answers in `default_timezone`."""
    clock = now or (lambda: datetime.now(UTC))
    ZoneInfo(default_timezone)  # a default that is not a zone is a programming error: fail now

    @tool(deterministic=False, timeout_seconds=None, keywords=("date", "clock"))
    def current_time(timezone: str = default_timezone) -> ToolResult:
        """The current date and time, with the weekday, in a time zone.

        Args:
            timezone: An IANA time zone name such as "Asia/Kolkata" or "UTC".
        """
        try:
            zone = ZoneInfo(timezone)
        # A region without a city ("America") names a directory of the zone database.
        except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
            return ToolResult.failure(
                "UnknownTimezone",
                f"'{timezone}' is not an IANA time zone name; use e.g. 'Asia/Kolkata' or 'UTC'",
            )
        moment = clock().astimezone(zone)
        return ToolResult.ok(
            {"iso": moment.isoformat(), "weekday": moment.strftime("%A"), "timezone": timezone}
        )

    return current_time


def builtin_tools(
    now: Callable[[], datetime] | None = None, *, default_timezone: str = DEFAULT_TIMEZONE
) -> list[FunctionTool]:
    """`finish`, `refuse`, `echo` and `current_time` (with `now` as its clock, in
    `default_timezone`)."""
    return [finish, refuse, echo, make_current_time(now, default_timezone=default_timezone)]
