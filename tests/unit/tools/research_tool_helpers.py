"""Helpers of the research tools' tests (imported as `research_tool_helpers`)."""

from __future__ import annotations

import json
from typing import Any

from tradeloop.agent import Executor, ToolRegistry, ToolResult

RUN_ID = "20250301T120000Z-test0001"
# What the longest results (a backtest with many folds) may weigh; the reference tools' results
# must fit the runtime's own limit (agent.memory.DEFAULT_MAX_RESULT_CHARS) uncut.
MAX_RESULT_CHARS = 2500

EXAMPLE_SPEC: dict[str, Any] = {
    "name": "nifty_rsi_reversion_5m",
    "symbol": "NIFTY",
    "timeframe": "5m",
    "direction": "long",
    "entry": {
        "all": [{"left": {"indicator": "rsi", "period": 14}, "op": "crosses_above", "right": 30}]
    },
    "exit": {
        "stop_loss": {"kind": "atr", "multiple": 1.5},
        "take_profit": {"kind": "r_multiple", "r": 1.5},
        "max_bars_held": 24,
    },
    "filters": {"time_window": {"start": "09:30", "end": "14:30"}},
}


def no_sleep(seconds: float) -> None:
    del seconds


def run_tool(registry: ToolRegistry, name: str, **args: Any) -> ToolResult:
    """Validate and execute one call the way the runner does."""
    resolved = registry.resolve({"tool": name, "args": args})
    return Executor(sleep=no_sleep).execute(resolved).result


def compact_json(result: ToolResult) -> str:
    """The result as the model's history renders it; raises on NaN or Infinity."""
    return json.dumps(result.data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def error_message(result: ToolResult) -> str:
    assert result.status == "error" and result.error is not None, result
    return result.error.message


def payload(result: ToolResult | None) -> dict[str, Any]:
    """The data of a successful result (status ok or done), typed loosely for assertions."""
    assert result is not None and result.status in ("ok", "done"), result
    assert isinstance(result.data, dict), result.data
    return result.data
