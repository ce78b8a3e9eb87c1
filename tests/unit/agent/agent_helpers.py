"""Tools and helpers shared by the agent runtime's unit tests (imported as `agent_helpers`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tradeloop.agent import AgentRunner, Planner, ScriptedPlanner, Tool, ToolRegistry, tool
from tradeloop.agent.executor import Executor
from tradeloop.errors import SpecError, TransientError


class Calls:
    """Counts tool executions by name: what a test asserts 'was never run' against."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def make_tools(calls: Calls) -> list[Tool]:
    @tool
    def add(a: int, b: int) -> dict[str, int]:
        """Add two integers.

        Args:
            a: The first integer.
            b: The second integer.
        """
        calls.counts["add"] += 1
        return {"sum": a + b}

    @tool
    def explode(message: str) -> None:
        """Raise a KeyError, as a bug in a tool would.

        Args:
            message: The error message.
        """
        calls.counts["explode"] += 1
        raise KeyError(message)

    @tool
    def check_spec(period: int) -> dict[str, int]:
        """Refuse a period below 2 with a SpecError, as a tool refuses the model's spec.

        Args:
            period: The indicator period.
        """
        calls.counts["check_spec"] += 1
        if period < 2:
            raise SpecError(f"entry.period: {period} is below 2; use a period of 2 or more")
        return {"period": period}

    @tool
    def quote(symbol: str) -> None:
        """Fail with a TransientError every time, as a quote service that is down.

        Args:
            symbol: The index.
        """
        calls.counts["quote"] += 1
        raise TransientError(f"the quote service timed out for {symbol}")

    @tool(idempotent=False, timeout_seconds=None)
    def place_order(quantity: int) -> dict[str, int]:
        """Pretend to act on the world; must never be retried.

        Args:
            quantity: Units to order.
        """
        calls.counts["place_order"] += 1
        return {"quantity": quantity}

    @tool(terminal=True, timeout_seconds=None)
    def finish(summary: str) -> dict[str, str]:
        """Finish the run.

        Args:
            summary: What was done.
        """
        calls.counts["finish"] += 1
        return {"summary": summary}

    return [add, explode, check_spec, quote, place_order, finish]


class NoSleep:
    """An injectable sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def runner_for(
    planner: Planner | list,
    registry: ToolRegistry,
    *,
    run_dir: Path | None = None,
    executor: Executor | None = None,
    **options: object,
) -> AgentRunner:
    chosen = ScriptedPlanner(planner) if isinstance(planner, list) else planner
    return AgentRunner(
        chosen,
        registry,
        run_dir=run_dir,
        executor=executor or Executor(sleep=NoSleep()),
        **options,  # type: ignore[arg-type]
    )
